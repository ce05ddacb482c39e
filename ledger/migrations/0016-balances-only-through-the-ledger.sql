-- Balance rows change only through the ledger's own functions (issue 15, item 11). The no-negative
-- CHECK on ledger_balances trusts its copied allow_negative column, so a role that could UPDATE the
-- rows could switch the rule off or rewrite a balance. The functions that write or lock balance
-- rows run as their owner (the migrations' role), with a pinned search_path so a caller cannot
-- shadow the tables; the application role keeps only SELECT on the rows themselves.
DO $$
DECLARE
  s text := current_schema();
BEGIN
  EXECUTE format('ALTER FUNCTION ledger_apply(bigint, jsonb, boolean, bigint) SECURITY DEFINER SET search_path = %I, pg_temp', s);
  -- The trigger that creates an account's balance slots runs as whoever inserts the account.
  EXECUTE format('ALTER FUNCTION ledger_accounts_create_slots() SECURITY DEFINER SET search_path = %I, pg_temp', s);
  -- Locks balance rows with SELECT ... FOR UPDATE, which needs the UPDATE right.
  EXECUTE format('ALTER FUNCTION ledger_post_batch(jsonb) SECURITY DEFINER SET search_path = %I, pg_temp', s);
END $$;

REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ledger_balances FROM lending_app;
-- A definer function is callable by PUBLIC by default: only the application role may call these.
REVOKE EXECUTE ON FUNCTION ledger_apply(bigint, jsonb, boolean, bigint), ledger_post_batch(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_apply(bigint, jsonb, boolean, bigint), ledger_post_batch(jsonb) TO lending_app;
