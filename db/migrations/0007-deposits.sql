-- Deposits: money collected from an investor's bank account through the gateway (代扣).
CREATE TABLE deposits (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  investor_id text NOT NULL REFERENCES parties (id),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency text NOT NULL REFERENCES ledger_currencies (code),
  channel text NOT NULL,
  -- Our order number at the gateway: one per deposit, never changed, never reused.
  order_no text NOT NULL UNIQUE,
  bank_account jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'MANUAL_REVIEW')),
  created_at timestamptz NOT NULL DEFAULT now(),
  settled_at timestamptz
);
CREATE INDEX deposits_investor ON deposits (investor_id, created_at);
