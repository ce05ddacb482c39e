-- Maker-checker per person, not per key (issue 16 item 2): a key names its holder (the person, e.g.
-- an email), so an operator with two keys cannot approve their own request. Required for operator
-- and admin keys in staging and production (the API's rule); NULL elsewhere and for older keys,
-- whose holder is then the key itself. The approval keeps both holders; the CHECK holds for every
-- role, as the one on the keys does.
ALTER TABLE api_keys ADD COLUMN holder text
  CHECK (holder IS NULL OR holder ~ '^[A-Za-z0-9._%+@-]{1,128}$');
ALTER TABLE approvals ADD COLUMN requested_holder text;
ALTER TABLE approvals ADD COLUMN decided_holder text;
ALTER TABLE approvals ADD CONSTRAINT approvals_second_person
  CHECK (decided_holder IS NULL OR requested_holder IS NULL OR decided_holder <> requested_holder);
GRANT UPDATE (decided_holder) ON approvals TO lending_app;
