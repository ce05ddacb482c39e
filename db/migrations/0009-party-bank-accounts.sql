-- Where a party's money goes out to: a borrower's disbursement is paid to this account.
ALTER TABLE parties ADD COLUMN bank_account jsonb;
