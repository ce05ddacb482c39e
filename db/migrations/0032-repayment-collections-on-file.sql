-- A repayment is collected from the borrower's verified account on file (verified_account_of,
-- 0028), named by id and read from it when the gateway is called, never copied (as 0029 did for
-- recovery collections). NULL in both columns: the borrower had none (NO_BANK_ACCOUNT, nothing
-- sent). Collections made before keep the account they were made with in their row.
ALTER TABLE repayment_collections ADD COLUMN bank_account_id text REFERENCES bank_accounts (id);
