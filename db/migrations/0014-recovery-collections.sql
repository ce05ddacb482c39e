-- REQUESTED recoveries (issue #9): the debt collected from the investor's bank account through
-- the gateway (代扣), one order per attempt, by the same outcome rules as every gateway order.
CREATE TABLE recovery_collections (
  order_no text PRIMARY KEY CHECK (order_no ~ '^[A-Za-z0-9_-]{1,64}$'),
  recovery_id text NOT NULL REFERENCES recoveries (id),
  attempt int NOT NULL CHECK (attempt >= 1),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency text NOT NULL REFERENCES ledger_currencies (code),
  channel text NOT NULL,
  bank_account jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('SUBMITTED', 'SUCCEEDED', 'FAILED', 'MANUAL_REVIEW')),
  created_at timestamptz NOT NULL DEFAULT now(),
  settled_at timestamptz,
  UNIQUE (recovery_id, attempt)
);
