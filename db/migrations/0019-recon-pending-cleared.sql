-- Money safety in reconciliation (issue 15 items 1, 3, 10):
-- - PENDING lines are not exceptions yet: an order still in flight on our side (class IN_FLIGHT:
--   querying, in manual review), or one of ours the gateway could not answer for (class
--   UNKNOWN). They are shown, keep the day open, are looked at again on the next run, and no
--   operator can resolve them.
-- - CLEARED: an exception or line that no longer applies (a re-match found the order accounted
--   for, or a resolution found nothing left to move). Audited; never reopened.
-- - One order carries at most one open exception that can move money.
-- - Verified gateway notices are remembered, so a duplicate is told from a first delivery.

ALTER TABLE recon_exceptions DROP CONSTRAINT recon_exceptions_class_check;
ALTER TABLE recon_exceptions ADD CONSTRAINT recon_exceptions_class_check CHECK (class IN (
  'OURS_ONLY', 'THEIRS_ONLY', 'AMOUNT_MISMATCH', 'STATUS_MISMATCH', 'DUPLICATE_AT_GATEWAY', 'FEE_MISMATCH', 'IN_FLIGHT', 'UNKNOWN'));
ALTER TABLE recon_exceptions DROP CONSTRAINT recon_exceptions_status_check;
ALTER TABLE recon_exceptions ADD CONSTRAINT recon_exceptions_status_check CHECK (status IN ('OPEN', 'PENDING', 'RESOLVED', 'CLEARED'));
-- A pending line is PENDING until it is CLEARED; an exception is never PENDING.
ALTER TABLE recon_exceptions ADD CONSTRAINT recon_exceptions_pending_lines CHECK (
  CASE WHEN class IN ('IN_FLIGHT', 'UNKNOWN') THEN status IN ('PENDING', 'CLEARED') ELSE status <> 'PENDING' END);
ALTER TABLE recon_exceptions ADD COLUMN cleared_at timestamptz;

CREATE UNIQUE INDEX recon_exceptions_one_open_per_order ON recon_exceptions (order_no) WHERE status = 'OPEN' AND class <> 'FEE_MISMATCH';
CREATE INDEX recon_exceptions_order ON recon_exceptions (order_no);
-- An order's lines on every day's statement (a resolution re-derives what the gateway moved).
CREATE INDEX recon_statement_lines_by_order ON recon_statement_lines (order_no);
-- An order's postings on every day (a resolution re-derives what the ledger moved).
CREATE INDEX ledger_transactions_order_no ON ledger_transactions ((metadata->>'orderNo')) WHERE metadata ? 'orderNo';

ALTER TABLE recon_runs DROP CONSTRAINT recon_runs_state_check;
ALTER TABLE recon_runs ADD CONSTRAINT recon_runs_state_check CHECK (state IN ('FETCHED', 'MATCHED', 'PENDING', 'EXCEPTIONS', 'CLEAN'));

-- Each verified notice once, with what it led to (SUCCESS, LATE, CONTRADICTS_RECORD, ...).
CREATE TABLE gateway_notices (
  notify_id text PRIMARY KEY,
  order_no text NOT NULL,
  status text NOT NULL CHECK (status IN ('SUCCESS', 'FAILED')),
  -- A failure on the gateway's definitive list: only such a notice contradicts an order we posted.
  definitive boolean NOT NULL DEFAULT true,
  result text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gateway_notices_order ON gateway_notices (order_no, status);
