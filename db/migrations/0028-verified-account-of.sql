-- The account a party's money moves by when no request names one (issue 16 item 1): its newest
-- verified account on file that is not removed and has waited out the cooling-off (scheduled
-- payouts: a just-added account, even verified, redirects nothing until then; collections ask no
-- cooling-off). NULL when there is none: a payout's money stays in the party's balance, and a
-- collection is not asked for. One definition, for payments/payout-runs.ts and
-- payments/recovery-collections.ts.
CREATE FUNCTION verified_account_of(party text, cooling_off_seconds integer) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT b.id FROM bank_accounts b
    JOIN payouts v ON v.bank_account_id = b.id AND v.purpose = 'verification'
   WHERE b.party_id = party AND v.status = 'SUCCEEDED' AND b.removed_at IS NULL
     AND b.created_at <= now() - make_interval(secs => cooling_off_seconds)
   ORDER BY b.created_at DESC, b.id LIMIT 1
$$;
GRANT EXECUTE ON FUNCTION verified_account_of(text, integer) TO lending_app;
