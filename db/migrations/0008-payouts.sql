-- Payouts: money sent to a bank account through the gateway (代付). The amount is held on the
-- source account before the gateway is called, then posted or voided by the Payout workflow.
CREATE TABLE payouts (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  purpose text NOT NULL CHECK (purpose IN ('withdrawal', 'disbursement', 'scheduled')),
  party_id text NOT NULL REFERENCES parties (id),
  source_account text NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency text NOT NULL REFERENCES ledger_currencies (code),
  channel text NOT NULL,
  -- Our order number at the gateway: one per payout, never changed, never reused.
  order_no text NOT NULL UNIQUE,
  bank_account jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('HELD', 'SUCCEEDED', 'FAILED', 'MANUAL_REVIEW')),
  hold_transaction_id bigint NOT NULL REFERENCES ledger_transactions (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  settled_at timestamptz
);
CREATE INDEX payouts_party ON payouts (party_id, created_at);
