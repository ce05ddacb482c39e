-- The double-entry ledger. Amounts are integer minor units (bigint); balances are a cache of
-- postings, kept in the same SQL transaction and checkable by recomputation (verify()).
-- Custom SQLSTATEs (class LG) become named errors in ledger/errors.ts.

CREATE TABLE ledger_currencies (
  code text PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
  scale smallint NOT NULL CHECK (scale BETWEEN 0 AND 4)
);
INSERT INTO ledger_currencies (code, scale) VALUES ('CNY', 2), ('USD', 2), ('EUR', 2), ('HKD', 2), ('JPY', 0);

CREATE TABLE ledger_accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- type:segment[:segment...], e.g. investor:42:available, platform:fees
  path text NOT NULL UNIQUE CHECK (length(path) <= 200 AND path ~ '^[a-z][a-z-]*(:[A-Za-z0-9_.-]+)+$'),
  type text NOT NULL GENERATED ALWAYS AS (split_part(path, ':', 1)) STORED,
  currency text NOT NULL REFERENCES ledger_currencies (code),
  allow_negative boolean NOT NULL,
  -- Hot accounts spread their balance over several rows so concurrent credits do not queue on one row.
  balance_slots smallint NOT NULL DEFAULT 1 CHECK (balance_slots BETWEEN 1 AND 64),
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, currency),
  CONSTRAINT user_accounts_never_negative CHECK (type NOT IN ('investor', 'borrower') OR NOT allow_negative)
);

CREATE TABLE ledger_balances (
  account_id bigint NOT NULL REFERENCES ledger_accounts (id),
  slot smallint NOT NULL,
  allow_negative boolean NOT NULL, -- copied from the account: a CHECK cannot look at another table
  posted bigint NOT NULL DEFAULT 0, -- credits minus debits
  pending_debits bigint NOT NULL DEFAULT 0 CHECK (pending_debits >= 0),
  pending_credits bigint NOT NULL DEFAULT 0 CHECK (pending_credits >= 0),
  PRIMARY KEY (account_id, slot),
  -- Every slot of a no-negative account stays >= 0, so the account does too.
  CONSTRAINT ledger_balances_non_negative CHECK (allow_negative OR posted - pending_debits >= 0)
);

CREATE TABLE ledger_transactions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  idempotency_key text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  content_hash text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('posted', 'pending', 'post_pending', 'void_pending', 'reversal')),
  pending_id bigint REFERENCES ledger_transactions (id),
  reverses_id bigint REFERENCES ledger_transactions (id),
  expires_at timestamptz,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)),
  CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL)),
  CHECK (expires_at IS NULL OR kind = 'pending')
);
-- A pending transfer is posted or voided once; a transaction is reversed once.
CREATE UNIQUE INDEX ledger_pending_closed_once ON ledger_transactions (pending_id) WHERE pending_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_reversed_once ON ledger_transactions (reverses_id) WHERE reverses_id IS NOT NULL;
CREATE INDEX ledger_transactions_open_pending ON ledger_transactions (expires_at) WHERE kind = 'pending';

CREATE TABLE ledger_postings (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id bigint NOT NULL REFERENCES ledger_transactions (id),
  account_id bigint NOT NULL,
  slot smallint NOT NULL,
  direction char(1) NOT NULL CHECK (direction IN ('D', 'C')),
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  pending boolean NOT NULL,
  -- The posting's currency is its account's currency, enforced here rather than trusted.
  FOREIGN KEY (account_id, currency) REFERENCES ledger_accounts (id, currency)
);
CREATE INDEX ledger_postings_account ON ledger_postings (account_id, id);
CREATE INDEX ledger_postings_transaction ON ledger_postings (transaction_id);

-- Append-only: history is corrected by new (reversing) transactions, never edited.
CREATE FUNCTION ledger_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = 'LG020';
END $$;
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
  FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();

-- An account's identity (path, currency, sign rule, slots) never changes; only its metadata may.
CREATE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.path <> OLD.path OR NEW.currency <> OLD.currency
     OR NEW.allow_negative <> OLD.allow_negative OR NEW.balance_slots <> OLD.balance_slots THEN
    RAISE EXCEPTION 'ledger account % cannot be deleted or change path, currency, sign rule or slots', OLD.path USING ERRCODE = 'LG020';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER ledger_accounts_immutable BEFORE UPDATE OR DELETE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_accounts_guard();

CREATE FUNCTION ledger_accounts_create_slots() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_balances (account_id, slot, allow_negative)
  SELECT NEW.id, s, NEW.allow_negative FROM generate_series(0, NEW.balance_slots - 1) AS s;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_accounts_slots AFTER INSERT ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_accounts_create_slots();

-- Debits equal credits per currency in every transaction, checked by the database once per INSERT
-- statement (all postings of a transaction are written by one statement).
CREATE FUNCTION ledger_postings_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_bad record;
BEGIN
  SELECT transaction_id, currency INTO v_bad
  FROM new_postings
  GROUP BY transaction_id, currency
  HAVING sum(CASE direction WHEN 'D' THEN amount ELSE -amount END) <> 0
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'transaction % is unbalanced in %: debits must equal credits', v_bad.transaction_id, v_bad.currency
      USING ERRCODE = 'LG002';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_balanced();

-- Creates an account, or returns the existing one if it matches; a mismatch is an error.
CREATE FUNCTION ledger_create_account(p_path text, p_currency text, p_allow_negative boolean, p_slots smallint, p_metadata jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_acc ledger_accounts;
BEGIN
  INSERT INTO ledger_accounts (path, currency, allow_negative, balance_slots, metadata)
  VALUES (p_path, p_currency, p_allow_negative, p_slots, p_metadata)
  ON CONFLICT (path) DO NOTHING
  RETURNING * INTO v_acc;
  IF v_acc.id IS NULL THEN
    SELECT * INTO v_acc FROM ledger_accounts WHERE path = p_path;
    IF v_acc.currency <> p_currency OR v_acc.allow_negative <> p_allow_negative OR v_acc.balance_slots <> p_slots THEN
      RAISE EXCEPTION 'account % exists with currency %, allow_negative %, slots %', p_path, v_acc.currency, v_acc.allow_negative, v_acc.balance_slots
        USING ERRCODE = 'LG013';
    END IF;
  END IF;
  RETURN v_acc.id;
END $$;

-- Opens a transaction row under its idempotency key. A repeat with the same content hash returns
-- the first transaction (replayed = true); with another hash it is an error.
CREATE FUNCTION ledger_open_transaction(p_key text, p_hash text, p_kind text, p_metadata jsonb,
  p_pending_id bigint, p_reverses_id bigint, p_expires_at timestamptz, OUT o_id bigint, OUT o_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_hash text;
BEGIN
  INSERT INTO ledger_transactions (idempotency_key, content_hash, kind, metadata, pending_id, reverses_id, expires_at)
  VALUES (p_key, p_hash, p_kind, p_metadata, p_pending_id, p_reverses_id, p_expires_at)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id INTO o_id;
  o_replayed := o_id IS NULL;
  IF o_replayed THEN
    SELECT id, content_hash INTO o_id, v_hash FROM ledger_transactions WHERE idempotency_key = p_key;
    IF v_hash <> p_hash THEN
      RAISE EXCEPTION 'idempotency key % was already used with different content', p_key USING ERRCODE = 'LG001';
    END IF;
  END IF;
END $$;

-- Raised from inside the postings INSERT, so a missing account is reported before the balance check.
CREATE FUNCTION ledger_account_missing(p_path text) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'account % does not exist', p_path USING ERRCODE = 'LG003';
END $$;

-- Writes a transaction's postings and moves the balances, locking rows in (account, slot) order.
--   p_legs: [{account, direction: 'D'|'C', amount: '123', currency, slot?}]
--   p_pending: the legs are held (pending) instead of posted
--   p_release_of: a pending transaction whose held amounts are released by this one
CREATE FUNCTION ledger_apply(p_txn bigint, p_legs jsonb, p_pending boolean, p_release_of bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_account bigint[];
  v_slot smallint[];
  v_posted bigint[];
  v_pending_debits bigint[];
  v_pending_credits bigint[];
  v_consolidate boolean[];
  v_path text[];
  v_done bigint := NULL;
BEGIN
  WITH legs AS (
    SELECT e->>'account' AS path, e->>'direction' AS direction, (e->>'amount')::bigint AS amount,
           e->>'currency' AS currency, (e->>'slot')::smallint AS slot
    FROM jsonb_array_elements(p_legs) AS e
  ), resolved AS (
    -- LATERAL ... OFFSET 0: one index lookup per leg; a join lets the planner hash the whole table.
    SELECT l.path, a.id AS account_id, a.allow_negative, a.balance_slots, l.direction, l.amount, l.currency,
           COALESCE(l.slot, CASE
             WHEN a.balance_slots = 1 THEN 0
             WHEN l.direction = 'D' AND NOT a.allow_negative THEN 0 -- debits of a no-negative account use slot 0
             ELSE floor(random() * a.balance_slots)::smallint END) AS slot
    FROM legs l LEFT JOIN LATERAL (SELECT * FROM ledger_accounts WHERE path = l.path OFFSET 0) a ON true
  ), inserted AS (
    INSERT INTO ledger_postings (transaction_id, account_id, slot, direction, amount, currency, pending)
    SELECT p_txn, CASE WHEN account_id IS NULL THEN ledger_account_missing(path) ELSE account_id END,
           slot, direction, amount, currency, p_pending
    FROM resolved
  ), deltas AS (
    SELECT account_id, slot, path, allow_negative, balance_slots,
           CASE WHEN p_pending THEN 0 WHEN direction = 'C' THEN amount ELSE -amount END AS d_posted,
           CASE WHEN p_pending AND direction = 'D' THEN amount ELSE 0 END AS d_pending_debits,
           CASE WHEN p_pending AND direction = 'C' THEN amount ELSE 0 END AS d_pending_credits
    FROM resolved
    UNION ALL
    SELECT p.account_id, p.slot, a.path, a.allow_negative, a.balance_slots, 0,
           CASE WHEN p.direction = 'D' THEN -p.amount ELSE 0 END,
           CASE WHEN p.direction = 'C' THEN -p.amount ELSE 0 END
    FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
    WHERE p_release_of IS NOT NULL AND p.transaction_id = p_release_of AND p.pending
  ), per_slot AS (
    SELECT account_id, slot, sum(d_posted)::bigint AS d_posted,
           sum(d_pending_debits)::bigint AS d_pending_debits, sum(d_pending_credits)::bigint AS d_pending_credits,
           bool_or(NOT allow_negative AND balance_slots > 1 AND (d_posted < 0 OR d_pending_debits > 0)) AS consolidate,
           min(path) AS path
    FROM deltas
    GROUP BY account_id, slot
  )
  SELECT array_agg(account_id ORDER BY account_id, slot), array_agg(slot ORDER BY account_id, slot),
         array_agg(d_posted ORDER BY account_id, slot), array_agg(d_pending_debits ORDER BY account_id, slot),
         array_agg(d_pending_credits ORDER BY account_id, slot), array_agg(consolidate ORDER BY account_id, slot),
         array_agg(path ORDER BY account_id, slot)
  INTO v_account, v_slot, v_posted, v_pending_debits, v_pending_credits, v_consolidate, v_path
  FROM per_slot;

  FOR i IN 1 .. coalesce(array_length(v_account, 1), 0) LOOP
    IF v_consolidate[i] AND v_done IS DISTINCT FROM v_account[i] THEN
      -- A debit of a multi-slot no-negative account: lock every slot in order and gather the
      -- posted balance into slot 0, where the debit is checked. The account's total is unchanged.
      PERFORM 1 FROM ledger_balances WHERE account_id = v_account[i] ORDER BY slot FOR UPDATE;
      UPDATE ledger_balances SET posted = CASE WHEN slot = 0
               THEN (SELECT sum(posted) FROM ledger_balances WHERE account_id = v_account[i]) ELSE 0 END
      WHERE account_id = v_account[i];
      v_done := v_account[i];
    END IF;
    UPDATE ledger_balances
    SET posted = posted + v_posted[i],
        pending_debits = pending_debits + v_pending_debits[i],
        pending_credits = pending_credits + v_pending_credits[i]
    WHERE account_id = v_account[i] AND slot = v_slot[i]
      AND (allow_negative OR posted + v_posted[i] - (pending_debits + v_pending_debits[i]) >= 0);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'insufficient funds in account %', v_path[i] USING ERRCODE = 'LG005';
    END IF;
  END LOOP;
END $$;

-- A posted transaction: any number of legs, debits = credits per currency.
CREATE FUNCTION ledger_post(p_key text, p_hash text, p_legs jsonb, p_metadata jsonb, OUT o_id bigint, OUT o_replayed boolean)
LANGUAGE plpgsql AS $$
BEGIN
  SELECT t.o_id, t.o_replayed INTO o_id, o_replayed FROM ledger_open_transaction(p_key, p_hash, 'posted', p_metadata, NULL, NULL, NULL) t;
  IF NOT o_replayed THEN
    PERFORM ledger_apply(o_id, p_legs, false, NULL);
  END IF;
END $$;

-- A pending (two-phase) transfer: funds are held on the debit side until posted or voided.
CREATE FUNCTION ledger_hold(p_key text, p_hash text, p_legs jsonb, p_metadata jsonb, p_expires_at timestamptz,
  OUT o_id bigint, OUT o_replayed boolean)
LANGUAGE plpgsql AS $$
BEGIN
  SELECT t.o_id, t.o_replayed INTO o_id, o_replayed FROM ledger_open_transaction(p_key, p_hash, 'pending', p_metadata, NULL, NULL, p_expires_at) t;
  IF NOT o_replayed THEN
    PERFORM ledger_apply(o_id, p_legs, true, NULL);
  END IF;
END $$;

-- Closes a pending transfer: p_post true posts it (fully, or p_amount of a two-leg transfer, the
-- rest released), false voids it. A pending transfer is closed once: a second close under another
-- key violates ledger_pending_closed_once (PENDING_ALREADY_CLOSED).
CREATE FUNCTION ledger_close_pending(p_key text, p_hash text, p_pending_id bigint, p_post boolean, p_amount bigint,
  p_metadata jsonb, p_now timestamptz, OUT o_id bigint, OUT o_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_pending ledger_transactions;
  v_legs jsonb;
  v_full bigint;
  v_leg_count int;
BEGIN
  SELECT * INTO v_pending FROM ledger_transactions WHERE id = p_pending_id;
  IF NOT FOUND OR v_pending.kind <> 'pending' THEN
    RAISE EXCEPTION 'pending transfer % does not exist', p_pending_id USING ERRCODE = 'LG006';
  END IF;
  SELECT t.o_id, t.o_replayed INTO o_id, o_replayed FROM ledger_open_transaction(p_key, p_hash,
    CASE WHEN p_post THEN 'post_pending' ELSE 'void_pending' END, p_metadata, p_pending_id, NULL, NULL) t;
  IF o_replayed THEN
    RETURN;
  END IF;
  IF p_post AND v_pending.expires_at IS NOT NULL AND v_pending.expires_at <= p_now THEN
    RAISE EXCEPTION 'pending transfer % expired at %', p_pending_id, v_pending.expires_at USING ERRCODE = 'LG008';
  END IF;
  IF NOT p_post THEN
    PERFORM ledger_apply(o_id, '[]'::jsonb, false, p_pending_id);
    RETURN;
  END IF;
  SELECT count(*), max(amount) INTO v_leg_count, v_full FROM ledger_postings WHERE transaction_id = p_pending_id;
  IF p_amount IS NOT NULL AND p_amount <> v_full THEN
    IF v_leg_count <> 2 THEN
      RAISE EXCEPTION 'only a two-leg pending transfer can be posted partially' USING ERRCODE = 'LG009';
    END IF;
    IF p_amount <= 0 OR p_amount > v_full THEN
      RAISE EXCEPTION 'cannot post % of a pending transfer of %', p_amount, v_full USING ERRCODE = 'LG009';
    END IF;
  END IF;
  SELECT jsonb_agg(jsonb_build_object('account', a.path, 'direction', p.direction,
           'amount', CASE WHEN p_amount IS NULL THEN p.amount ELSE p_amount END::text, 'currency', p.currency, 'slot', p.slot))
  INTO v_legs
  FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
  WHERE p.transaction_id = p_pending_id;
  PERFORM ledger_apply(o_id, v_legs, false, p_pending_id);
END $$;

-- A reversal: a new transaction with the original's posted legs mirrored, linked to it.
CREATE FUNCTION ledger_reverse(p_key text, p_hash text, p_transaction_id bigint, p_metadata jsonb, OUT o_id bigint, OUT o_replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_original ledger_transactions;
  v_legs jsonb;
BEGIN
  SELECT * INTO v_original FROM ledger_transactions WHERE id = p_transaction_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'transaction % does not exist', p_transaction_id USING ERRCODE = 'LG010';
  END IF;
  IF v_original.kind NOT IN ('posted', 'post_pending', 'reversal') THEN
    RAISE EXCEPTION 'transaction % (%) has nothing posted to reverse: void a pending transfer instead', p_transaction_id, v_original.kind
      USING ERRCODE = 'LG010';
  END IF;
  SELECT t.o_id, t.o_replayed INTO o_id, o_replayed FROM ledger_open_transaction(p_key, p_hash, 'reversal', p_metadata, NULL, p_transaction_id, NULL) t;
  IF o_replayed THEN
    RETURN;
  END IF;
  SELECT jsonb_agg(jsonb_build_object('account', a.path, 'direction', CASE p.direction WHEN 'D' THEN 'C' ELSE 'D' END,
           'amount', p.amount::text, 'currency', p.currency))
  INTO v_legs
  FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
  WHERE p.transaction_id = p_transaction_id AND NOT p.pending;
  PERFORM ledger_apply(o_id, v_legs, false, NULL);
END $$;
