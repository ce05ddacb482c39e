-- Loans, their schedules, subscriptions (reservations) and the outbox that starts workflows.

CREATE TABLE loans (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  borrower_id text NOT NULL REFERENCES parties (id),
  currency text NOT NULL REFERENCES ledger_currencies (code),
  principal_minor bigint NOT NULL CHECK (principal_minor > 0),
  -- The hot row of the rush: decremented by every reservation, never below zero.
  remaining_minor bigint NOT NULL CHECK (remaining_minor >= 0 AND remaining_minor <= principal_minor),
  annual_rate numeric(12, 10) NOT NULL CHECK (annual_rate >= 0),
  term_months int NOT NULL CHECK (term_months BETWEEN 1 AND 360),
  repayment_method text NOT NULL CHECK (repayment_method IN ('equal_installment', 'equal_principal', 'interest_then_principal')),
  subscription_deadline timestamptz NOT NULL,
  -- Compressed calendars (demo, tests): installments every N seconds instead of calendar months.
  installment_interval_seconds int CHECK (installment_interval_seconds > 0),
  fee_rate numeric(8, 6) NOT NULL DEFAULT 0 CHECK (fee_rate >= 0 AND fee_rate < 1),
  status text NOT NULL CHECK (status IN ('OPEN', 'FUNDED', 'DISBURSED', 'REPAYING', 'CLOSED', 'EXPIRED', 'DEFAULTED')),
  created_at timestamptz NOT NULL DEFAULT now(),
  funded_at timestamptz,
  disbursed_at timestamptz
);

CREATE TABLE loan_installments (
  loan_id text NOT NULL REFERENCES loans (id),
  n int NOT NULL CHECK (n >= 1),
  principal_minor bigint NOT NULL CHECK (principal_minor >= 0),
  interest_minor bigint NOT NULL CHECK (interest_minor >= 0),
  status text NOT NULL DEFAULT 'SCHEDULED',
  PRIMARY KEY (loan_id, n)
);

CREATE TABLE subscriptions (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  loan_id text NOT NULL REFERENCES loans (id),
  investor_id text NOT NULL REFERENCES parties (id),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  currency text NOT NULL,
  status text NOT NULL CHECK (status IN ('RESERVED', 'CONFIRMED', 'REFUNDED', 'CANCELLED')),
  hold_transaction_id bigint NOT NULL REFERENCES ledger_transactions (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz
);
CREATE INDEX subscriptions_loan_status ON subscriptions (loan_id, status, id);
CREATE INDEX subscriptions_investor ON subscriptions (investor_id);

-- Workflow starts and signals asked for by committed business facts; drained by the dispatcher.
CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  action text NOT NULL CHECK (action IN ('start', 'signal')),
  workflow_type text,
  workflow_id text NOT NULL,
  signal_name text,
  payload jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  attempts int NOT NULL DEFAULT 0,
  not_before timestamptz NOT NULL DEFAULT now(),
  last_error text,
  CHECK ((action = 'start') = (workflow_type IS NOT NULL)),
  CHECK ((action = 'signal') = (signal_name IS NOT NULL))
);
CREATE INDEX outbox_due ON outbox (not_before, id);

-- The reservation: one transaction holds the investor's money, records the subscription, asks
-- for its workflow, and takes the amount off the loan. The loan row, the one hot row, is locked
-- last, so it is held only for the UPDATE and the commit. Custom SQLSTATEs (class SB) map to
-- the API's 409s.
CREATE FUNCTION subscription_reserve(p_subscription_id text, p_loan_id text, p_investor_id text, p_amount bigint,
  p_hold_key text, p_hold_hash text, p_hold_legs jsonb, p_metadata jsonb, OUT o_remaining bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_loan loans;
  v_hold bigint;
BEGIN
  SELECT * INTO v_loan FROM loans WHERE id = p_loan_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'loan % does not exist', p_loan_id USING ERRCODE = 'SB001';
  END IF;
  IF v_loan.remaining_minor = 0 THEN -- fully subscribed (whether or not the loan has decided yet)
    RAISE EXCEPTION 'loan % is fully subscribed', p_loan_id USING ERRCODE = 'SB003', DETAIL = '0';
  END IF;
  IF v_loan.status <> 'OPEN' OR v_loan.subscription_deadline <= now() THEN
    RAISE EXCEPTION 'loan % is not open for subscription', p_loan_id USING ERRCODE = 'SB002';
  END IF;
  IF v_loan.remaining_minor < p_amount THEN -- early answer without touching the hot row
    RAISE EXCEPTION 'loan % has % left', p_loan_id, v_loan.remaining_minor USING ERRCODE = 'SB003', DETAIL = v_loan.remaining_minor::text;
  END IF;

  SELECT t.o_id INTO v_hold FROM ledger_hold(p_hold_key, p_hold_hash, p_hold_legs, p_metadata, NULL) t;
  INSERT INTO subscriptions (id, loan_id, investor_id, amount_minor, currency, status, hold_transaction_id)
  VALUES (p_subscription_id, p_loan_id, p_investor_id, p_amount, v_loan.currency, 'RESERVED', v_hold);
  -- The loan's decision starts the subscription's workflow (signal-with-start) as soon as it is
  -- made. This row is the guarantee that it starts even so, due at the deadline: during the rush
  -- the dispatcher leaves the CPU to the buyers.
  INSERT INTO outbox (action, workflow_type, workflow_id, payload, not_before)
  VALUES ('start', 'subscriptionWorkflow', 'subscription-' || p_subscription_id,
          jsonb_build_object('subscriptionId', p_subscription_id, 'loanId', p_loan_id, 'investorId', p_investor_id),
          v_loan.subscription_deadline);

  UPDATE loans SET remaining_minor = remaining_minor - p_amount
  WHERE id = p_loan_id AND status = 'OPEN' AND remaining_minor >= p_amount
  RETURNING remaining_minor INTO o_remaining;
  IF NOT FOUND THEN
    SELECT * INTO v_loan FROM loans WHERE id = p_loan_id;
    IF v_loan.status <> 'OPEN' THEN
      RAISE EXCEPTION 'loan % is not open for subscription', p_loan_id USING ERRCODE = 'SB002';
    END IF;
    RAISE EXCEPTION 'loan % has % left', p_loan_id, v_loan.remaining_minor USING ERRCODE = 'SB003', DETAIL = v_loan.remaining_minor::text;
  END IF;
  IF o_remaining = 0 THEN
    -- Fully reserved: tell the loan's workflow (through the outbox, like every start).
    INSERT INTO outbox (action, workflow_id, signal_name) VALUES ('signal', 'loan-' || p_loan_id, 'loanFullyReserved');
  END IF;
END $$;

-- The loan's one decision when its reservations are complete or its deadline has passed:
-- FUNDED when nothing remains, EXPIRED otherwise. Taken under the loan row's lock, so no
-- reservation can slip in between.
CREATE FUNCTION loan_decide(p_loan_id text, p_deadline_passed boolean, OUT o_status text)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE loans SET
    status = CASE WHEN remaining_minor = 0 THEN 'FUNDED' ELSE 'EXPIRED' END,
    funded_at = CASE WHEN remaining_minor = 0 THEN now() END
  WHERE id = p_loan_id AND status = 'OPEN' AND (remaining_minor = 0 OR p_deadline_passed)
  RETURNING status INTO o_status;
  IF NOT FOUND THEN
    SELECT status INTO o_status FROM loans WHERE id = p_loan_id;
  END IF;
END $$;

-- The platform's own accounts (CNY). Receivables and suspense are debit-normal: negative here.
SELECT ledger_create_account('platform:fees', 'CNY', false, 1::smallint, '{"purpose": "fees earned"}');
SELECT ledger_create_account('platform:recovery-receivable', 'CNY', true, 1::smallint, '{"purpose": "money owed back to the platform"}');
SELECT ledger_create_account('platform:suspense', 'CNY', true, 1::smallint, '{"purpose": "unexplained money, pending investigation"}');
SELECT ledger_create_account('gateway:default:clearing', 'CNY', true, 4::smallint, '{"purpose": "money at the payment gateway, channel default"}');
