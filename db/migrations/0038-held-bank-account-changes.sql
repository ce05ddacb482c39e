-- An operator or admin adding or removing a party's bank account acts on where someone else's money
-- goes: held for a second operator (issue 16 item 2). The held account number is sealed with the
-- bank-account keyring in the payload, never stored in clear; only its masked digits are shown.
ALTER TABLE approvals DROP CONSTRAINT approvals_action_check;
ALTER TABLE approvals ADD CONSTRAINT approvals_action_check
  CHECK (action IN ('review.paid', 'recovery.write_off', 'recovery.open', 'exception.adjust',
                    'exception.recover', 'payout_run.start', 'bank_account.add',
                    'bank_account.remove'));
