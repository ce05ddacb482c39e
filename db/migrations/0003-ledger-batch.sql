-- Posts many independent transactions in one Postgres transaction: one commit (one WAL flush)
-- for the lot. Each item succeeds or fails alone (a savepoint each); a failed item writes nothing.
-- Deadlock freedom: every balance row the batch can touch is locked first, in (account, slot)
-- order, the same global order single posts use; a hot account's credits go to one slot per batch.
CREATE FUNCTION ledger_post_batch(p_items jsonb)
RETURNS TABLE (o_index int, o_id bigint, o_replayed boolean, o_sqlstate text, o_constraint text, o_message text)
LANGUAGE plpgsql AS $$
DECLARE
  v_slots jsonb; -- path -> [credit slot, debit slot]
  v_item jsonb;
  v_legs jsonb;
BEGIN
  WITH legs AS (
    SELECT DISTINCT leg->>'account' AS path, leg->>'direction' AS direction
    FROM jsonb_array_elements(p_items) AS item, jsonb_array_elements(item->'legs') AS leg
  ), accounts AS (
    SELECT a.id, a.path, a.allow_negative, a.balance_slots, bool_or(l.direction = 'D') AS debited,
           CASE WHEN a.balance_slots = 1 THEN 0 ELSE floor(random() * a.balance_slots)::int END AS batch_slot
    FROM legs l JOIN LATERAL (SELECT * FROM ledger_accounts WHERE path = l.path OFFSET 0) a ON true
    GROUP BY a.id, a.path, a.allow_negative, a.balance_slots
  ), locked AS (
    SELECT b.account_id
    FROM accounts a JOIN ledger_balances b ON b.account_id = a.id
    WHERE b.slot = a.batch_slot
       OR (a.debited AND NOT a.allow_negative) -- a debit may gather every slot into slot 0
    ORDER BY b.account_id, b.slot
    FOR UPDATE OF b
  )
  SELECT coalesce(jsonb_object_agg(a.path, jsonb_build_array(a.batch_slot,
           CASE WHEN a.allow_negative THEN a.batch_slot ELSE 0 END)), '{}')
  INTO v_slots
  FROM accounts a
  WHERE (SELECT count(*) FROM locked) >= 0; -- forces the locks to be taken before any item runs

  o_index := 0;
  FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
    SELECT jsonb_agg(leg || jsonb_build_object('slot', v_slots->(leg->>'account')->(CASE leg->>'direction' WHEN 'C' THEN 0 ELSE 1 END)))
    INTO v_legs
    FROM jsonb_array_elements(v_item->'legs') AS leg;
    BEGIN
      SELECT t.o_id, t.o_replayed INTO o_id, o_replayed
      FROM ledger_post(v_item->>'key', v_item->>'hash', v_legs, v_item->'metadata') t;
      o_sqlstate := NULL; o_constraint := NULL; o_message := NULL;
    EXCEPTION WHEN OTHERS THEN
      o_id := NULL; o_replayed := NULL;
      GET STACKED DIAGNOSTICS o_sqlstate = RETURNED_SQLSTATE, o_constraint = CONSTRAINT_NAME, o_message = MESSAGE_TEXT;
      IF o_sqlstate IN ('40P01', '40001') THEN
        RAISE; -- the whole batch is retried by the caller
      END IF;
    END;
    RETURN NEXT;
    o_index := o_index + 1;
  END LOOP;
END $$;
