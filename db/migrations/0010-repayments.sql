-- Repayments (issue #6): each installment is collected from the borrower through the gateway (代扣),
-- distributed to the investors pro rata in one ledger transaction, then paid out by a payout run.

-- The installment row carries its repayment's progress (DESIGN.md: DUE → COLLECTING → COLLECTED →
-- DISTRIBUTED → PAID_OUT; OVERDUE; MANUAL_REVIEW).
ALTER TABLE loan_installments
  ADD COLUMN late_fee_minor bigint NOT NULL DEFAULT 0 CHECK (late_fee_minor >= 0),
  ADD COLUMN collected_minor bigint CHECK (collected_minor > 0),
  ADD COLUMN collection_transaction_id bigint REFERENCES ledger_transactions (id),
  ADD COLUMN distribution_transaction_id bigint REFERENCES ledger_transactions (id),
  -- Set by the payout run once every share has its payout: until then "no payout pending" means nothing.
  ADD COLUMN payouts_fanned_out_at timestamptz,
  ADD CONSTRAINT loan_installments_status_check
    CHECK (status IN ('SCHEDULED', 'DUE', 'COLLECTING', 'OVERDUE', 'MANUAL_REVIEW', 'COLLECTED', 'DISTRIBUTED', 'PAID_OUT'));

-- The platform's cut of each installment's interest (the disbursement fee is fee_rate).
ALTER TABLE loans ADD COLUMN interest_fee_rate numeric(8, 6) NOT NULL DEFAULT 0 CHECK (interest_fee_rate >= 0 AND interest_fee_rate < 1);

-- One gateway order per collection attempt: a definitively failed attempt is followed by a new
-- order (the money provably never moved); an unknown one never is.
CREATE TABLE repayment_collections (
  order_no text PRIMARY KEY CHECK (order_no ~ '^[A-Za-z0-9_-]{1,64}$'),
  loan_id text NOT NULL,
  n int NOT NULL,
  attempt int NOT NULL CHECK (attempt >= 1),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency text NOT NULL REFERENCES ledger_currencies (code),
  channel text NOT NULL,
  bank_account jsonb,
  status text NOT NULL CHECK (status IN ('SUBMITTED', 'SUCCEEDED', 'FAILED', 'MANUAL_REVIEW')),
  created_at timestamptz NOT NULL DEFAULT now(),
  settled_at timestamptz,
  UNIQUE (loan_id, n, attempt),
  FOREIGN KEY (loan_id, n) REFERENCES loan_installments (loan_id, n)
);

-- Each investor's part of an installment, written with the distribution's ledger transaction.
CREATE TABLE repayment_shares (
  loan_id text NOT NULL,
  n int NOT NULL,
  investor_id text NOT NULL REFERENCES parties (id),
  holding_minor bigint NOT NULL CHECK (holding_minor > 0),
  interest_minor bigint NOT NULL CHECK (interest_minor >= 0),
  principal_minor bigint NOT NULL CHECK (principal_minor >= 0),
  PRIMARY KEY (loan_id, n, investor_id),
  FOREIGN KEY (loan_id, n) REFERENCES loan_installments (loan_id, n)
);

-- Scheduled payouts belong to an installment's run; their ids ({loanId}-{n}-{investorId}-{part})
-- can be longer than an order number, which is then derived from the id.
ALTER TABLE payouts DROP CONSTRAINT payouts_id_check;
ALTER TABLE payouts
  ADD CONSTRAINT payouts_id_check CHECK (id ~ '^[A-Za-z0-9_-]{1,190}$'),
  ADD COLUMN loan_id text,
  ADD COLUMN installment int,
  ADD CONSTRAINT payouts_installment_check CHECK ((loan_id IS NULL) = (installment IS NULL));
CREATE INDEX payouts_run ON payouts (loan_id, installment, status) WHERE loan_id IS NOT NULL;
