-- Signals with arguments through the outbox (issue 16 item 2): the maker-checker's ApprovalState
-- and verdicts commit with the approval they announce instead of a best-effort call after it.
--   args            the signal's arguments, as a JSON array (NULL: none, as before)
--   signal_with_start  a signal that starts its workflow (workflow_type, payload) when it is not
--                   there yet: a verdict dispatched before its approval workflow's start row. A
--                   workflow already closed had its verdict: the row is delivered, not dead.
--   drop_if_closed  display only (an ApprovalState): a workflow that ended meanwhile makes the row
--                   moot, not a dead letter
ALTER TABLE outbox
  ADD COLUMN args jsonb CHECK (args IS NULL OR jsonb_typeof(args) = 'array'),
  ADD COLUMN drop_if_closed boolean NOT NULL DEFAULT false,
  DROP CONSTRAINT outbox_action_check,
  DROP CONSTRAINT outbox_check,
  DROP CONSTRAINT outbox_check1,
  ADD CONSTRAINT outbox_action_check CHECK (action IN ('start', 'signal', 'signal_with_start')),
  ADD CONSTRAINT outbox_starts_name_a_type
    CHECK ((action IN ('start', 'signal_with_start')) = (workflow_type IS NOT NULL)),
  ADD CONSTRAINT outbox_signals_name_a_signal
    CHECK ((action IN ('signal', 'signal_with_start')) = (signal_name IS NOT NULL));

ALTER TABLE outbox_dead_letters ADD COLUMN args jsonb;
