-- Rows written by the smoke workflow: proves a workflow's activity reached Postgres.
CREATE TABLE smoke_runs (
  workflow_id text PRIMARY KEY,
  message text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
