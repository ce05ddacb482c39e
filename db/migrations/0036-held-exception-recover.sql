-- An exception's `recover` opens a recovery by an operator's hand (issue 16 item 2): held for a
-- second operator like an adjust, under its own action.
ALTER TABLE approvals DROP CONSTRAINT approvals_action_check;
ALTER TABLE approvals ADD CONSTRAINT approvals_action_check
  CHECK (action IN ('review.paid', 'recovery.write_off', 'recovery.open', 'exception.adjust',
                    'exception.recover', 'payout_run.start'));
