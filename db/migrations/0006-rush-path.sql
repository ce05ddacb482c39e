-- The subscription rush in one SQL statement: the Idempotency-Key check, the stored response and
-- the reservation commit together, with no client round trip between taking the loan's row lock
-- and the commit (a round trip there, under load, is milliseconds of every other buyer waiting).
-- It follows api/idempotency.ts exactly: same table, same lock, same replay rules.

CREATE FUNCTION ledger_format_amount(p_minor bigint, p_currency text) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT round(p_minor::numeric / power(10::numeric, c.scale), c.scale)::text FROM ledger_currencies c WHERE c.code = p_currency
$$;

CREATE FUNCTION api_subscribe(p_scope text, p_key text, p_request_hash text, p_created jsonb,
  p_subscription_id text, p_loan_id text, p_investor_id text, p_amount bigint, p_currency text,
  p_hold_key text, p_hold_hash text, p_hold_legs jsonb, p_metadata jsonb,
  OUT o_status int, OUT o_body jsonb, OUT o_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_locked boolean;
  v_stored api_idempotency;
  v_state text;
  v_message text;
  v_detail text;
BEGIN
  v_locked := pg_try_advisory_xact_lock(hashtextextended(p_scope || ' ' || p_key, 0));
  SELECT * INTO v_stored FROM api_idempotency WHERE scope = p_scope AND key = p_key;
  IF FOUND THEN
    IF v_stored.request_hash <> p_request_hash THEN
      o_status := 422;
      o_body := jsonb_build_object('error', jsonb_build_object('code', 'IDEMPOTENCY_KEY_REUSED', 'message', 'this Idempotency-Key was used with a different request', 'details', '{}'::jsonb));
      o_replayed := false;
      RETURN;
    END IF;
    o_status := v_stored.response_status; o_body := v_stored.response_body; o_replayed := true;
    RETURN;
  END IF;
  o_replayed := false;
  IF NOT v_locked THEN
    o_status := 409;
    o_body := jsonb_build_object('error', jsonb_build_object('code', 'IDEMPOTENCY_KEY_IN_USE', 'message', 'a request with this Idempotency-Key is still running', 'details', '{}'::jsonb));
    RETURN;
  END IF;

  BEGIN
    INSERT INTO api_idempotency (scope, key, request_hash, response_status, response_body) VALUES (p_scope, p_key, p_request_hash, 201, p_created);
    PERFORM subscription_reserve(p_subscription_id, p_loan_id, p_investor_id, p_amount, p_hold_key, p_hold_hash, p_hold_legs, p_metadata);
    o_status := 201; o_body := p_created;
    RETURN; -- the loan row's lock is released by the commit that ends this statement
  EXCEPTION WHEN SQLSTATE 'SB001' OR SQLSTATE 'SB002' OR SQLSTATE 'SB003' OR SQLSTATE 'LG005' THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
  END;

  -- A refusal: nothing of the reservation was written; store and return the refusal.
  o_status := CASE v_state WHEN 'SB001' THEN 404 ELSE 409 END;
  o_body := jsonb_build_object('error', CASE v_state
    WHEN 'SB001' THEN jsonb_build_object('code', 'NOT_FOUND', 'message', 'no such loan', 'details', '{}'::jsonb)
    WHEN 'SB002' THEN jsonb_build_object('code', 'LOAN_NOT_OPEN', 'message', v_message, 'details', '{}'::jsonb)
    WHEN 'SB003' THEN jsonb_build_object('code', 'LOAN_FULL', 'message', v_message,
                        'details', jsonb_build_object('remaining', ledger_format_amount(v_detail::bigint, p_currency)))
    ELSE jsonb_build_object('code', 'INSUFFICIENT_FUNDS', 'message', v_message, 'details', '{}'::jsonb) END);
  INSERT INTO api_idempotency (scope, key, request_hash, response_status, response_body) VALUES (p_scope, p_key, p_request_hash, o_status, o_body);
END $$;
