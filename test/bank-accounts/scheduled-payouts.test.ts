// Scheduled payouts go only to a verified account on file (issue 16 item 1), on the real Postgres,
// through the function the payout run's activity calls: never to the account given when the party
// was created, never to an account still cooling off (a stolen key that adds and verifies an
// account redirects nothing until then), never to a removed one; with none, the share stays in the
// investor's balance.
import { inTransaction } from '../../db/pool';
import { removeBankAccount } from '../../payments/bank-accounts';
import { getPayout } from '../../payments/payouts';
import { preparePayoutPage } from '../../payments/payout-runs';
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';
import { useTestDatabase } from '../helpers/postgres';
import { collectAndDistribute, createRepayingLoan } from '../money-safety/fixtures';

const db = useTestDatabase();
const COOLING_S = 2;
const other = (accountNo: string) => ({ bankCode: 'CMB', accountNo, accountName: 'Someone' });

it('pays each share to the investor’s verified account on file past its cooling-off, or keeps it in their balance', async () => {
  await createRepayingLoan(db.pool, {
    id: 'sp-loan',
    holdings: ['sp-ann', 'sp-bob', 'sp-cat'].map((investorId) => ({
      investorId,
      holdingMinor: 100_000n,
    })),
    termMonths: 1,
    repaymentMethod: 'interest_then_principal',
  });
  const { rows: onFile } = await db.pool.query<{ party_id: string; id: string }>(
    `SELECT party_id, id FROM bank_accounts WHERE party_id LIKE 'sp-%' ORDER BY party_id`,
  );
  const first = Object.fromEntries(onFile.map((r) => [r.party_id, r.id]));
  // Cat takes her only account off file.
  await inTransaction(db.pool, (tx) =>
    removeBankAccount(tx, { partyId: 'sp-cat', bankAccountId: first['sp-cat'], actor: 'test' }),
  );
  // The accounts above wait out the cooling-off; then a new one of Bob's is added and verified.
  await new Promise((r) => setTimeout(r, (COOLING_S + 0.5) * 1000));
  const bobsNew = await putVerifiedAccountOnFile(db.pool, 'sp-bob', other('6222999900001111'));

  await collectAndDistribute(db.pool, 'sp-loan', 1);
  const page = await preparePayoutPage(db.pool, 'sp-loan', 1, '', 100, COOLING_S);
  const payTo = async (investorId: string) => {
    const ours = page.payouts.filter((p) => p.partyId === investorId);
    return Promise.all(
      ours.map(async (p) => (await getPayout(db.pool, p.payoutId))?.bankAccountId),
    );
  };
  // interest and principal each, to the account on file (the number is read from it, not copied)
  expect(await payTo('sp-ann')).toEqual([first['sp-ann'], first['sp-ann']]);
  // Bob's new account, verified or not, is still cooling off: his earlier one is paid
  expect(await payTo('sp-bob')).toEqual([first['sp-bob'], first['sp-bob']]);
  expect(await payTo('sp-cat')).toEqual([]);
  expect(page.skipped).toBe(2);
  const { rows } = await db.pool.query(
    `SELECT count(*)::int AS n FROM payouts WHERE loan_id = 'sp-loan' AND bank_account IS NOT NULL`,
  );
  expect(rows[0].n).toBe(0); // never the account given when the investor was created

  // Prepared again once Bob's new account is past its cooling-off (a retried page): the same
  // payouts, made once, never redirected after the fact.
  const again = await preparePayoutPage(db.pool, 'sp-loan', 1, '', 100, 0);
  expect(again.payouts).toEqual(page.payouts);
  expect(await payTo('sp-bob')).toEqual([first['sp-bob'], first['sp-bob']]);
  expect(bobsNew).not.toBe(first['sp-bob']);
});
