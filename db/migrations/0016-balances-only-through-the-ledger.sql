-- Money moves only through the ledger's own entry points (issue 15, item 11). The no-negative CHECK
-- on ledger_balances trusts its copied allow_negative column, and a balance is only right if every
-- change to it came with its postings: so the application role writes neither balance rows nor
-- postings nor transactions itself. The public entry points (post, hold, close a pending, reverse,
-- batch post) run as their owner (the migrations' role) with a pinned search_path, so a caller
-- cannot shadow the tables; the internal steps they are made of (open a transaction, apply legs)
-- are not callable by the application at all: called alone they could release a hold twice.
DO $$
DECLARE
  s text := current_schema();
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY[
    'ledger_post(text, text, jsonb, jsonb)',
    'ledger_hold(text, text, jsonb, jsonb, timestamptz)',
    'ledger_close_pending(text, text, bigint, boolean, bigint, jsonb, timestamptz)',
    'ledger_reverse(text, text, bigint, jsonb)',
    'ledger_post_batch(jsonb)',
    -- The trigger that creates an account's balance slots runs as whoever inserts the account.
    'ledger_accounts_create_slots()'
  ] LOOP
    EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = %I, pg_temp', f, s);
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
  FOREACH f IN ARRAY ARRAY[
    'ledger_apply(bigint, jsonb, boolean, bigint)',
    'ledger_open_transaction(text, text, text, jsonb, bigint, bigint, timestamptz)'
  ] LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, lending_app', f);
  END LOOP;
END $$;

GRANT EXECUTE ON FUNCTION ledger_post(text, text, jsonb, jsonb), ledger_hold(text, text, jsonb, jsonb, timestamptz),
  ledger_close_pending(text, text, bigint, boolean, bigint, jsonb, timestamptz), ledger_reverse(text, text, bigint, jsonb),
  ledger_post_batch(jsonb) TO lending_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ledger_balances, ledger_postings, ledger_transactions FROM lending_app;
-- A trigger function needs no caller's EXECUTE; as a definer, attached to a table of the app's own,
-- it would write balance rows for the app.
REVOKE EXECUTE ON FUNCTION ledger_accounts_create_slots() FROM lending_app;
