-- Least privilege (issue #10): migrations run as the schema's owner; the API, the worker and the
-- dispatcher act as `lending_app` (DATABASE_ROLE), which can read and write rows but cannot alter
-- the schema, nor update or delete postings, transactions, the audit log or the environment record.
-- The role is cluster-wide and created here if missing (a DBA may create it beforehand instead).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lending_app') THEN
    CREATE ROLE lending_app NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- created concurrently by another migration run (tests migrate many schemas at once)
END $$;

DO $$
DECLARE
  s text := current_schema();
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO lending_app', s);
  EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM lending_app', s);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO lending_app', s);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO lending_app', s);
  EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I TO lending_app', s);
  -- Tables of later migrations: the same row rights; append-only ones revoke theirs explicitly.
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO lending_app', s);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO lending_app', s);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT EXECUTE ON FUNCTIONS TO lending_app', s);
END $$;

-- History is written once: the application may add to it, never change or remove it.
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_transactions, ledger_postings, audit_log, app_environment, schema_migrations FROM lending_app;
REVOKE INSERT ON app_environment, schema_migrations FROM lending_app;
-- The reference data is the migrations' to change.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ledger_currencies FROM lending_app;
