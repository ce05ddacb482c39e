-- A short account number was kept whole in clear: its first and last four digits covered it all
-- (6 to 8 digits), and the listing showed it. Now only what payments/bank-account-crypto.ts
-- visibleDigits keeps: the first four from 12 digits up, and at most the last four, never more
-- than half the number. Rows already on file are trimmed to that.
ALTER TABLE bank_accounts DROP CONSTRAINT bank_accounts_account_no_first4_check;
ALTER TABLE bank_accounts DROP CONSTRAINT bank_accounts_account_no_last4_check;
-- (a removed account is trimmed too: the trigger that keeps it as it was is paused for this only)
ALTER TABLE bank_accounts DISABLE TRIGGER bank_accounts_removed_once;
UPDATE bank_accounts SET
  account_no_first4 = '',
  account_no_last4 = right(account_no_last4, least(4, account_no_length / 2))
WHERE account_no_length < 12;
ALTER TABLE bank_accounts ENABLE TRIGGER bank_accounts_removed_once;
ALTER TABLE bank_accounts ADD CONSTRAINT bank_accounts_account_no_first4_check
  CHECK (account_no_first4 ~ '^([0-9]{4})?$' AND (account_no_first4 = '') = (account_no_length < 12));
ALTER TABLE bank_accounts ADD CONSTRAINT bank_accounts_account_no_last4_check
  CHECK (account_no_last4 ~ '^[0-9]{1,4}$' AND length(account_no_last4) = least(4, account_no_length / 2));
