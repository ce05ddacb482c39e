-- Maker-checker on operator money decisions (issue 16, item 2). A decision that needs a second
-- operator is recorded here as pending, in the same transaction as its audit row; it takes effect
-- only once another key approves it. The checks below hold for every role: the requester's own key
-- can never decide it, and a decision is made once (approve twice or approve after reject is
-- refused by the trigger, not only by the code). Nothing deletes from this table.
CREATE TABLE approvals (
  id text PRIMARY KEY CHECK (id ~ '^apr-[0-9a-f-]{36}$'),
  workflow_id text NOT NULL,
  action text NOT NULL CHECK (action IN ('review.paid', 'recovery.write_off', 'recovery.open',
                                         'exception.adjust', 'payout_run.start')),
  -- Minor units; NULL when the action names no single amount (a payout run started by hand).
  amount_minor bigint CHECK (amount_minor IS NULL OR amount_minor >= 0),
  payload jsonb NOT NULL,
  reason text NOT NULL,
  requested_by text NOT NULL CHECK (requested_by ~ '^(operator|admin):'),
  request_id text,
  requested_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  decided_by text CHECK (decided_by ~ '^(operator|admin):'),
  decided_at timestamptz,
  decision_reason text,
  CHECK ((status = 'pending') = (decided_by IS NULL)),
  CHECK ((decided_by IS NULL) = (decided_at IS NULL)),
  CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE INDEX approvals_pending ON approvals (requested_at) WHERE status = 'pending';
CREATE INDEX approvals_workflow ON approvals (workflow_id);

CREATE FUNCTION approval_decided_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'pending' THEN
    RAISE EXCEPTION 'approval % was % already', OLD.id, OLD.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER approvals_decided_once BEFORE UPDATE ON approvals FOR EACH ROW EXECUTE FUNCTION approval_decided_once();
REVOKE DELETE, TRUNCATE ON approvals FROM lending_app;
REVOKE UPDATE ON approvals FROM lending_app;
GRANT UPDATE (status, decided_by, decided_at, decision_reason) ON approvals TO lending_app;
