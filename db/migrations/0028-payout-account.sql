-- Where a party's scheduled payouts go (issue 16 item 1): its newest verified account on file
-- that is not removed and has waited out the cooling-off, so a just-added account, even verified,
-- redirects nothing until then. NULL when there is none: the money stays in the party's balance.
-- One definition, read by the payout run's page query (payments/payout-runs.ts).
CREATE FUNCTION payout_account_of(party text, cooling_off_seconds integer) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT b.id FROM bank_accounts b
    JOIN payouts v ON v.bank_account_id = b.id AND v.purpose = 'verification'
   WHERE b.party_id = party AND v.status = 'SUCCEEDED' AND b.removed_at IS NULL
     AND b.created_at <= now() - make_interval(secs => cooling_off_seconds)
   ORDER BY b.created_at DESC, b.id LIMIT 1
$$;
GRANT EXECUTE ON FUNCTION payout_account_of(text, integer) TO lending_app;
