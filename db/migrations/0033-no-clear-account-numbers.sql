-- No account number in clear at rest (issue 16 items 5 and 12). Every new row names an account on
-- file (sealed); the columns that held a number in clear (JSON) take none any more. A trigger, not
-- a NOT VALID CHECK: such a CHECK is still checked on every UPDATE of a legacy row, so an in-flight
-- legacy payout could not even change its status before `ops bank-accounts reseal` cleared it.
-- Legacy values are tolerated until resealed; writing a new one is refused. Once reseal reports
-- none left, a later migration may add the validated CHECK (bank_account IS NULL).
CREATE FUNCTION no_clear_account_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.bank_account IS NOT NULL
     AND (TG_OP = 'INSERT' OR NEW.bank_account IS DISTINCT FROM OLD.bank_account) THEN
    RAISE EXCEPTION '%.bank_account takes no account number in clear: name a bank account on file',
      TG_TABLE_NAME USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER parties_no_clear_account_number BEFORE INSERT OR UPDATE OF bank_account ON parties
  FOR EACH ROW EXECUTE FUNCTION no_clear_account_number();
CREATE TRIGGER payouts_no_clear_account_number BEFORE INSERT OR UPDATE OF bank_account ON payouts
  FOR EACH ROW EXECUTE FUNCTION no_clear_account_number();
CREATE TRIGGER deposits_no_clear_account_number BEFORE INSERT OR UPDATE OF bank_account ON deposits
  FOR EACH ROW EXECUTE FUNCTION no_clear_account_number();
CREATE TRIGGER repayment_collections_no_clear_account_number
  BEFORE INSERT OR UPDATE OF bank_account ON repayment_collections
  FOR EACH ROW EXECUTE FUNCTION no_clear_account_number();
CREATE TRIGGER recovery_collections_no_clear_account_number
  BEFORE INSERT OR UPDATE OF bank_account ON recovery_collections
  FOR EACH ROW EXECUTE FUNCTION no_clear_account_number();

-- Reseal (payments/bank-account-reseal.ts): a number sealed under an old key is sealed again under
-- the current one, so the old key can be dropped. A removed account is resealed too (its orders
-- still open it); only its removal stays once and for good.
CREATE OR REPLACE FUNCTION bank_account_removed_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.removed_at IS NOT NULL AND NEW.removed_at IS DISTINCT FROM OLD.removed_at THEN
    RAISE EXCEPTION 'bank account % was removed already', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.account_no_ciphertext IS DISTINCT FROM OLD.account_no_ciphertext
     AND NEW.key_id IS NOT DISTINCT FROM OLD.key_id THEN
    RAISE EXCEPTION 'bank account % is resealed under another key, or not at all', OLD.id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
GRANT UPDATE (account_no_ciphertext, key_id) ON bank_accounts TO lending_app;
