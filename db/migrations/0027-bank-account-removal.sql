-- A party changes where its money goes (issue 16 item 1): a new account is added (and verified,
-- and starts the withdrawal cooling-off), an old one is removed. A removed account is kept (the
-- payouts and deposits made with it name it) but used for nothing new; it is removed once, for good.
ALTER TABLE bank_accounts ADD COLUMN removed_at timestamptz;

CREATE FUNCTION bank_account_removed_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.removed_at IS NOT NULL THEN
    RAISE EXCEPTION 'bank account % was removed already', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER bank_accounts_removed_once BEFORE UPDATE ON bank_accounts FOR EACH ROW
  EXECUTE FUNCTION bank_account_removed_once();
GRANT UPDATE (removed_at) ON bank_accounts TO lending_app;
