-- Bank accounts on file (issue 16, items 1 and 5): a deposit collects from, and a withdrawal pays
-- to, only a verified account of the same party, named by id. The number is stored encrypted
-- (AES-256-GCM, payments/bank-account-crypto.ts) with the id of the key that wrote it, so keys
-- rotate; only its first and last four digits are kept in clear, for the masked listing.
CREATE TABLE bank_accounts (
  id text PRIMARY KEY CHECK (id ~ '^ba_[0-9a-f]{20}$'),
  party_id text NOT NULL REFERENCES parties (id),
  bank_code text NOT NULL CHECK (bank_code ~ '^[A-Z0-9]{2,16}$'),
  account_name text NOT NULL CHECK (length(account_name) BETWEEN 1 AND 64),
  account_no_ciphertext text NOT NULL,
  key_id text NOT NULL CHECK (key_id ~ '^[A-Za-z0-9_-]{1,32}$'),
  account_no_first4 text NOT NULL CHECK (account_no_first4 ~ '^[0-9]{4}$'),
  account_no_last4 text NOT NULL CHECK (account_no_last4 ~ '^[0-9]{4}$'),
  account_no_length smallint NOT NULL CHECK (account_no_length BETWEEN 6 AND 32),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bank_accounts_party ON bank_accounts (party_id, created_at);

-- The penny test is a payout like any other (the Payout workflow, its queries and reviews): the
-- account is VERIFIED when its verification payout succeeded, FAILED when it failed.
ALTER TABLE payouts DROP CONSTRAINT payouts_purpose_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_purpose_check
  CHECK (purpose IN ('withdrawal', 'disbursement', 'scheduled', 'verification'));

-- New deposits and payouts name the account on file; their number is read from it, never copied.
ALTER TABLE payouts ADD COLUMN bank_account_id text REFERENCES bank_accounts (id);
ALTER TABLE payouts ALTER COLUMN bank_account DROP NOT NULL;
ALTER TABLE payouts ADD CONSTRAINT payouts_bank_account_named
  CHECK (bank_account IS NOT NULL OR bank_account_id IS NOT NULL);
CREATE INDEX payouts_bank_account ON payouts (bank_account_id) WHERE bank_account_id IS NOT NULL;
ALTER TABLE deposits ADD COLUMN bank_account_id text REFERENCES bank_accounts (id);
ALTER TABLE deposits ALTER COLUMN bank_account DROP NOT NULL;
ALTER TABLE deposits ADD CONSTRAINT deposits_bank_account_named
  CHECK (bank_account IS NOT NULL OR bank_account_id IS NOT NULL);

-- What penny tests cost the platform: an expense, so it may go below zero.
SELECT ledger_create_account('platform:bank-verification', 'CNY', true, 1::smallint, '{"purpose": "penny tests that verify bank accounts"}');

GRANT SELECT, INSERT ON bank_accounts TO lending_app;
