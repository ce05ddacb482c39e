-- Which environment this database belongs to (issue #10): written once by the first migration run
-- with APP_ENV, never changed; the API, the worker and the dispatcher refuse to start against a
-- database of another environment.
CREATE TABLE app_environment (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  environment text NOT NULL CHECK (environment IN ('development', 'test', 'staging', 'production')),
  recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION app_environment_is_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the environment of a database never changes' USING ERRCODE = 'EN001';
END $$;
CREATE TRIGGER app_environment_permanent BEFORE UPDATE OR DELETE ON app_environment
  FOR EACH ROW EXECUTE FUNCTION app_environment_is_permanent();
CREATE TRIGGER app_environment_no_truncate BEFORE TRUNCATE ON app_environment
  FOR EACH STATEMENT EXECUTE FUNCTION app_environment_is_permanent();
