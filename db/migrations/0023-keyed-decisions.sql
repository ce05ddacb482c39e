-- Operator decisions honour Idempotency-Key (issue 16, item 7). A keyed decision is recorded here
-- with its key, in the decision's own transaction, before the workflow is told; a retry of the same
-- request (the first response lost) takes the same decision id again, and Temporal deduplicates the
-- Update by that id, so the retry gets the first answer instead of a 409 "used already". The final
-- response is stored in api_idempotency as for any keyed request. Pruned with it (the same retention).
CREATE TABLE api_idempotent_decisions (
  scope text NOT NULL,
  key text NOT NULL CHECK (key ~ '^[A-Za-z0-9_.:-]{1,128}$'),
  request_hash text NOT NULL,
  decision_id text NOT NULL REFERENCES operator_decisions (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);
CREATE INDEX api_idempotent_decisions_created ON api_idempotent_decisions (created_at);
