// Issue 15, item 7: the offset a payout took for a recovery is found again by the payout's id when
// the payout run's page is prepared a second time (an activity retried after it committed), even
// though the offset closed the recovery. On the real Postgres, through the activity's own function.
import { Ledger } from '../../ledger';
import { scheduledPayoutId } from '../../ids/derived';
import { preparePayoutPage } from '../../payments/payout-runs';
import { getRecovery } from '../../payments/recoveries';
import { useTestDatabase } from '../helpers/postgres';
import { expectLedgerConsistent } from '../ledger/helpers';
import { oneInvestorLoanCollected, openOwedRecovery, theShare } from './fixtures';

const db = useTestDatabase();

afterEach(() => expectLedgerConsistent(db.pool));

it('a retried payout page holds the share less the offset again, and offsets a recovery the offset closed only once', async () => {
  const loanId = 'ro1';
  const investor = await oneInvestorLoanCollected(db.pool, loanId);
  const { interest, principal } = await theShare(db.pool, loanId);
  // The investor owes exactly the interest part: that payout is offset whole, the principal part is
  // paid.
  await openOwedRecovery(db.pool, 'rc-ro1', investor, interest);

  const pending = async () =>
    (await new Ledger(db.pool).balance(`investor:${investor}:available`)).pendingDebits;
  const first = await preparePayoutPage(db.pool, loanId, 1, '', 100);
  expect(first.payouts.map((p) => p.payoutId)).toEqual([
    scheduledPayoutId(loanId, 1, investor, 'principal'),
  ]);
  expect(await pending()).toBe(principal);

  // the activity again, after its first attempt committed
  const retried = await preparePayoutPage(db.pool, loanId, 1, '', 100);
  expect(retried.payouts).toEqual(first.payouts);
  // share (interest + principal) less the offset (interest), as the first time
  expect(await pending()).toBe(principal);

  const { rows: offsets } = await db.pool.query(
    'SELECT payout_id, amount_minor::text FROM recovery_offsets WHERE recovery_id = $1',
    ['rc-ro1'],
  );
  expect(offsets).toEqual([
    {
      payout_id: scheduledPayoutId(loanId, 1, investor, 'interest'),
      amount_minor: interest.toString(),
    },
  ]);
  expect(await getRecovery(db.pool, 'rc-ro1')).toMatchObject({
    state: 'RECOVERED',
    recoveredMinor: interest,
  });
  expect((await new Ledger(db.pool).balance('platform:recovery-receivable')).posted).toBe(0n);
});
