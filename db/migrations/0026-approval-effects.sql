-- An approval carries out its decision in the transaction that approves it (issue 16 item 2): the
-- operator decision it records for the workflow (or the recovery or payout run it opens) is kept
-- here, so an approval retried after a lost answer tells the workflow the same decision again,
-- never a second one. Set once, with the verdict (the decided-once trigger refuses later updates).
ALTER TABLE approvals ADD COLUMN effect_id text;
ALTER TABLE approvals ADD CONSTRAINT approvals_effect_only_when_approved
  CHECK (effect_id IS NULL OR status = 'approved');
GRANT UPDATE (effect_id) ON approvals TO lending_app;
