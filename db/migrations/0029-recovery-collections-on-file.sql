-- A recovery collected from the investor's bank account takes it from their verified account on
-- file (verified_account_of, 0028), named by id and read from it, never copied; collections made
-- before keep the account they were made with in their row.
ALTER TABLE recovery_collections ADD COLUMN bank_account_id text REFERENCES bank_accounts (id);
ALTER TABLE recovery_collections ALTER COLUMN bank_account DROP NOT NULL;
ALTER TABLE recovery_collections ADD CONSTRAINT recovery_collections_bank_account_named
  CHECK (bank_account IS NOT NULL OR bank_account_id IS NOT NULL);
