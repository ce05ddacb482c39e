-- Operator decisions are rows before they are effects (issue 26). The API writes each money
-- decision here, with the authenticated key as its actor, in one transaction with its audit row;
-- the workflow is told only the decision's id and takes the row through an activity before any
-- effect: a decision that does not exist, is for another workflow or kind, or was taken already
-- is refused (a row in operator_decision_refusals, counted by the API's metrics, logged as an
-- alert). Nothing deletes from either table; a decision changes once, when it is taken.
CREATE TABLE operator_decisions (
  id text PRIMARY KEY,
  workflow_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('review.resolve', 'exception.resolve', 'recovery.write_off', 'recovery.request_collection', 'recovery.open',
                                    'payout_run.start', 'subscription.cancel', 'repayment.collect_now')),
  -- An operator's or admin's key; an investor's (a cancel) or a borrower's (collect now) for their own money.
  actor text NOT NULL CHECK (actor ~ '^(operator|admin|investor|borrower):'),
  payload jsonb NOT NULL,
  reason text NOT NULL,
  request_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Taken by the workflow run that acted on it (its retried activity takes it again, nobody else).
  taken_at timestamptz,
  taken_by text,
  CHECK ((taken_at IS NULL) = (taken_by IS NULL))
);
CREATE INDEX operator_decisions_workflow ON operator_decisions (workflow_id);
-- Taken once: no role may give a taken decision back (the app role may only set taken_at/taken_by).
CREATE FUNCTION operator_decision_taken_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.taken_at IS NOT NULL THEN
    RAISE EXCEPTION 'operator decision % was taken already', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER operator_decisions_taken_once BEFORE UPDATE ON operator_decisions FOR EACH ROW EXECUTE FUNCTION operator_decision_taken_once();
REVOKE DELETE, TRUNCATE ON operator_decisions FROM lending_app;
REVOKE UPDATE ON operator_decisions FROM lending_app;
GRANT UPDATE (taken_at, taken_by) ON operator_decisions TO lending_app;

CREATE TABLE operator_decision_refusals (
  id bigserial PRIMARY KEY,
  decision_id text,
  workflow_id text NOT NULL,
  kind text NOT NULL,
  why text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
REVOKE UPDATE, DELETE, TRUNCATE ON operator_decision_refusals FROM lending_app;

-- A verified notice's failure code, so a workflow told of a notice reads what the gateway said
-- from the row the API stored, never from the signal.
ALTER TABLE gateway_notices ADD COLUMN code text;
