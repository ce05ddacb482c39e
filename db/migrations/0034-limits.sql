-- Limits (issue 19 item 7), configuration an operator can see and an admin can change (audited):
-- how much one investor may hold of one loan, checked inside the reservation statement itself so
-- the rush stays one round trip; and how much an investor may withdraw a day, a month, and in one
-- payout, checked where the withdrawal's hold is taken. NULL is no limit.
CREATE TABLE platform_limits (
  name text PRIMARY KEY CHECK (name IN ('subscription_per_investor_per_loan', 'withdrawal_daily',
                                        'withdrawal_monthly', 'withdrawal_max')),
  amount_minor bigint CHECK (amount_minor > 0),
  currency text NOT NULL REFERENCES ledger_currencies (code),
  changed_by text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO platform_limits (name, amount_minor, currency, changed_by)
SELECT n, NULL, 'CNY', 'migration 0034' FROM unnest(ARRAY['subscription_per_investor_per_loan',
  'withdrawal_daily', 'withdrawal_monthly', 'withdrawal_max']) AS n;
GRANT SELECT, UPDATE (amount_minor, changed_by, changed_at) ON platform_limits TO lending_app;

CREATE INDEX subscriptions_loan_investor ON subscriptions (loan_id, investor_id);

-- The cap, inside the reservation: taken under a lock of the (loan, investor) pair, so two of one
-- investor's requests at once cannot both fit under it. SB004 carries what still fits.
CREATE FUNCTION subscription_within_cap(p_loan_id text, p_investor_id text, p_amount bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_cap bigint;
  v_held bigint;
BEGIN
  SELECT amount_minor INTO v_cap FROM platform_limits WHERE name = 'subscription_per_investor_per_loan';
  IF v_cap IS NULL THEN RETURN; END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('holding ' || p_loan_id || ' ' || p_investor_id, 0));
  SELECT coalesce(sum(amount_minor), 0) INTO v_held FROM subscriptions
   WHERE loan_id = p_loan_id AND investor_id = p_investor_id AND status IN ('RESERVED', 'CONFIRMED');
  IF v_held + p_amount > v_cap THEN
    RAISE EXCEPTION 'an investor may hold at most % of a loan', v_cap
      USING ERRCODE = 'SB004', DETAIL = v_cap::text || ' ' || greatest(v_cap - v_held, 0)::text;
  END IF;
END $$;
GRANT EXECUTE ON FUNCTION subscription_within_cap(text, text, bigint) TO lending_app;

-- The reservation (0005) and the rush statement (0006) as they were, with the cap and its refusal.
CREATE OR REPLACE FUNCTION subscription_reserve(p_subscription_id text, p_loan_id text, p_investor_id text, p_amount bigint,
  p_hold_key text, p_hold_hash text, p_hold_legs jsonb, p_metadata jsonb, OUT o_remaining bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_loan loans;
  v_hold bigint;
BEGIN
  SELECT * INTO v_loan FROM loans WHERE id = p_loan_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'loan % does not exist', p_loan_id USING ERRCODE = 'SB001';
  END IF;
  IF v_loan.remaining_minor = 0 THEN -- fully subscribed (whether or not the loan has decided yet)
    RAISE EXCEPTION 'loan % is fully subscribed', p_loan_id USING ERRCODE = 'SB003', DETAIL = '0';
  END IF;
  IF v_loan.status <> 'OPEN' OR v_loan.subscription_deadline <= now() THEN
    RAISE EXCEPTION 'loan % is not open for subscription', p_loan_id USING ERRCODE = 'SB002';
  END IF;
  IF v_loan.remaining_minor < p_amount THEN -- early answer without touching the hot row
    RAISE EXCEPTION 'loan % has % left', p_loan_id, v_loan.remaining_minor USING ERRCODE = 'SB003', DETAIL = v_loan.remaining_minor::text;
  END IF;
  PERFORM subscription_within_cap(p_loan_id, p_investor_id, p_amount);

  SELECT t.o_id INTO v_hold FROM ledger_hold(p_hold_key, p_hold_hash, p_hold_legs, p_metadata, NULL) t;
  INSERT INTO subscriptions (id, loan_id, investor_id, amount_minor, currency, status, hold_transaction_id)
  VALUES (p_subscription_id, p_loan_id, p_investor_id, p_amount, v_loan.currency, 'RESERVED', v_hold);
  -- The loan's decision starts the subscription's workflow (signal-with-start) as soon as it is
  -- made. This row is the guarantee that it starts even so, due at the deadline: during the rush
  -- the dispatcher leaves the CPU to the buyers.
  INSERT INTO outbox (action, workflow_type, workflow_id, payload, not_before)
  VALUES ('start', 'subscriptionWorkflow', 'subscription-' || p_subscription_id,
          jsonb_build_object('subscriptionId', p_subscription_id, 'loanId', p_loan_id, 'investorId', p_investor_id),
          v_loan.subscription_deadline);

  UPDATE loans SET remaining_minor = remaining_minor - p_amount
  WHERE id = p_loan_id AND status = 'OPEN' AND remaining_minor >= p_amount
  RETURNING remaining_minor INTO o_remaining;
  IF NOT FOUND THEN
    SELECT * INTO v_loan FROM loans WHERE id = p_loan_id;
    IF v_loan.status <> 'OPEN' THEN
      RAISE EXCEPTION 'loan % is not open for subscription', p_loan_id USING ERRCODE = 'SB002';
    END IF;
    RAISE EXCEPTION 'loan % has % left', p_loan_id, v_loan.remaining_minor USING ERRCODE = 'SB003', DETAIL = v_loan.remaining_minor::text;
  END IF;
  IF o_remaining = 0 THEN
    -- Fully reserved: tell the loan's workflow (through the outbox, like every start).
    INSERT INTO outbox (action, workflow_id, signal_name) VALUES ('signal', 'loan-' || p_loan_id, 'loanFullyReserved');
  END IF;
END $$;

CREATE OR REPLACE FUNCTION api_subscribe(p_scope text, p_key text, p_request_hash text, p_created jsonb,
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
  EXCEPTION WHEN SQLSTATE 'SB001' OR SQLSTATE 'SB002' OR SQLSTATE 'SB003' OR SQLSTATE 'SB004' OR SQLSTATE 'LG005' THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
  END;

  -- A refusal: nothing of the reservation was written; store and return the refusal.
  o_status := CASE v_state WHEN 'SB001' THEN 404 ELSE 409 END;
  o_body := jsonb_build_object('error', CASE v_state
    WHEN 'SB001' THEN jsonb_build_object('code', 'NOT_FOUND', 'message', 'no such loan', 'details', '{}'::jsonb)
    WHEN 'SB002' THEN jsonb_build_object('code', 'LOAN_NOT_OPEN', 'message', v_message, 'details', '{}'::jsonb)
    WHEN 'SB003' THEN jsonb_build_object('code', 'LOAN_FULL', 'message', v_message,
                        'details', jsonb_build_object('remaining', ledger_format_amount(v_detail::bigint, p_currency)))
    WHEN 'SB004' THEN jsonb_build_object('code', 'INVESTOR_LIMIT', 'message', v_message,
                        'details', jsonb_build_object('limit', ledger_format_amount(split_part(v_detail, ' ', 1)::bigint, p_currency),
                                                      'remaining', ledger_format_amount(split_part(v_detail, ' ', 2)::bigint, p_currency)))
    ELSE jsonb_build_object('code', 'INSUFFICIENT_FUNDS', 'message', v_message, 'details', '{}'::jsonb) END);
  INSERT INTO api_idempotency (scope, key, request_hash, response_status, response_body) VALUES (p_scope, p_key, p_request_hash, o_status, o_body);
END $$;
