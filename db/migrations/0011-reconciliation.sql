-- Reconciliation (issue #9): each day and channel, the gateway's statement against the ledger's
-- postings on the channel's clearing account, by order number; and recoveries of money paid in error.

CREATE TABLE recon_runs (
  id text PRIMARY KEY, -- {channel}:{date}
  channel text NOT NULL CHECK (channel ~ '^[a-z0-9-]{1,32}$'),
  day date NOT NULL,
  state text NOT NULL CHECK (state IN ('FETCHED', 'MATCHED', 'EXCEPTIONS', 'CLEAN')),
  ours_count int NOT NULL DEFAULT 0,
  ours_minor bigint NOT NULL DEFAULT 0,
  theirs_count int NOT NULL DEFAULT 0,
  theirs_minor bigint NOT NULL DEFAULT 0,
  matched int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  matched_at timestamptz,
  closed_at timestamptz,
  UNIQUE (channel, day)
);

-- The statement as fetched (streamed in with COPY); replaced whole on a re-run of the day.
CREATE TABLE recon_statement_lines (
  run_id text NOT NULL REFERENCES recon_runs (id),
  line_no int NOT NULL,
  order_no text NOT NULL,
  gateway_trade_no text NOT NULL,
  kind text NOT NULL,
  status text NOT NULL,
  amount_minor bigint NOT NULL,
  currency text NOT NULL,
  fee_minor bigint NOT NULL,
  executed_at timestamptz NOT NULL,
  PRIMARY KEY (run_id, line_no)
);
CREATE INDEX recon_statement_lines_order ON recon_statement_lines (run_id, order_no);

-- Every line not matched is an operator work item. The same day re-run finds the same items:
-- (run, class, order) is unique.
CREATE TABLE recon_exceptions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id text NOT NULL REFERENCES recon_runs (id),
  class text NOT NULL CHECK (class IN ('OURS_ONLY', 'THEIRS_ONLY', 'AMOUNT_MISMATCH', 'STATUS_MISMATCH', 'DUPLICATE_AT_GATEWAY', 'FEE_MISMATCH')),
  order_no text NOT NULL,
  kind text,
  -- Money as seen by each side, in minor units (null: that side has nothing).
  ours_minor bigint,
  theirs_minor bigint,
  party_id text,
  detail jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'RESOLVED')),
  resolution text CHECK (resolution IN ('adjust', 'recover', 'accept')),
  resolved_by text,
  reason text,
  transaction_id bigint REFERENCES ledger_transactions (id),
  recovery_id text,
  resolved_at timestamptz,
  UNIQUE (run_id, class, order_no)
);

CREATE TABLE recoveries (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  investor_id text NOT NULL REFERENCES parties (id),
  currency text NOT NULL REFERENCES ledger_currencies (code),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  recovered_minor bigint NOT NULL DEFAULT 0 CHECK (recovered_minor >= 0 AND recovered_minor <= amount_minor),
  written_off_minor bigint NOT NULL DEFAULT 0 CHECK (written_off_minor >= 0),
  state text NOT NULL CHECK (state IN ('OPEN', 'OFFSETTING', 'REQUESTED', 'RECOVERED', 'WRITTEN_OFF')),
  exception_id bigint REFERENCES recon_exceptions (id),
  reason text NOT NULL,
  opened_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz
);
CREATE INDEX recoveries_investor_open ON recoveries (investor_id, created_at) WHERE state IN ('OPEN', 'OFFSETTING');

-- Each amount taken from an investor's payout to clear a recovery: once per (recovery, payout).
CREATE TABLE recovery_offsets (
  recovery_id text NOT NULL REFERENCES recoveries (id),
  payout_id text NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  transaction_id bigint NOT NULL REFERENCES ledger_transactions (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (recovery_id, payout_id)
);

-- The gateway's fee schedule (gateway/fees.ts, our contract with the PSP), for matching in SQL:
-- a payout costs one major unit; a collection 0.30 %, half up, at least one minor unit.
-- A test checks the two agree.
CREATE FUNCTION gateway_expected_fee(p_kind text, p_amount bigint, p_scale smallint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_kind = 'PAYOUT' THEN (10 ^ p_scale)::bigint ELSE greatest(1, (p_amount * 30 + 5000) / 10000) END
$$;

-- Money the platform gave up on (a recovery written off by an operator): an expense, debit-normal.
SELECT ledger_create_account('platform:write-offs', 'CNY', true, 1::smallint, '{"purpose": "recoveries written off"}');
