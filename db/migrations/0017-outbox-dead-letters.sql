-- Outbox rows that can never be delivered (issue 15, item 12): a signal to a workflow that has
-- already finished. Retrying it would spin forever and hide it; it is moved here instead, whole,
-- with the reason, and the dispatcher raises an alert. Operators read the table (and the API's
-- outbox_dead_letters gauge); nothing deletes from it.
CREATE TABLE outbox_dead_letters (
  id bigint PRIMARY KEY, -- the outbox row's id
  action text NOT NULL,
  workflow_type text,
  workflow_id text NOT NULL,
  signal_name text,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  attempts int NOT NULL,
  reason text NOT NULL,
  dead_at timestamptz NOT NULL DEFAULT now()
);
REVOKE UPDATE, DELETE, TRUNCATE ON outbox_dead_letters FROM lending_app;
