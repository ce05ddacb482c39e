// Issue 15, item 7, on the whole stack: a real payout run on a Temporal dev server, paying through
// the gateway simulator, whose page preparation loses its reply after it committed (a worker
// interceptor fails the first attempt once it has run, as a crash between commit and reply would).
// The investor owes exactly their interest share: the retried page must find that offset by the
// payout's id although it closed the recovery, so the interest is never sent and the recovery is
// offset once. Before the fix the retry held and sent the whole share again.
import { orderNoFor } from '../../payments/order-numbers';
import { scheduledPayoutId } from '../../ids/derived';
import { workflowIds } from '../../ids/workflow-ids';
import { getRecovery } from '../../payments/recoveries';
import type { PayoutRunResult } from '../../workflows/contracts/payout-run';
import { loseFirstReply, useLostReplyWorker } from '../helpers/lost-reply';
import { expectLedgerConsistent } from '../ledger/helpers';
import { oneInvestorLoanCollected, openOwedRecovery, theShare } from './fixtures';
import { startPayoutRunAsJob } from '../../cli/payout-run-job';

/**
 * The first preparePayoutPage attempt commits, then "dies" before its reply reaches the workflow.
 */
const replies = loseFirstReply((type) => type === 'preparePayoutPage');

const world = useLostReplyWorker(replies);
const { db } = world;

it('a payout run whose page is prepared twice sends the share less the offset, and offsets the recovery once', async () => {
  const loanId = 'ros1';
  const investor = await oneInvestorLoanCollected(db.pool, loanId);
  const { interest, principal } = await theShare(db.pool, loanId);
  await openOwedRecovery(db.pool, 'rc-ros1', investor, interest);

  const run = await startPayoutRunAsJob(db.pool, world.env.client, {
    workflowId: workflowIds.payoutRun(loanId, 1),
    job: 'test',
    input: {
      loanId,
      installment: 1,
      queryPolicy: { attempts: 2, initialIntervalMs: 200, maxIntervalMs: 400 },
    },
  });
  const result: PayoutRunResult = await run.result();
  // the page really was prepared twice
  expect(replies.lost).toEqual([workflowIds.payoutRun(loanId, 1)]);

  // The gateway paid the principal once and never heard of the interest (offset whole).
  const executed = world.simulator.truth().filter((o) => o.kind === 'PAYOUT');
  expect(executed.map((o) => [o.orderNo, o.status, o.amountMinor.toString()])).toEqual([
    [
      orderNoFor(scheduledPayoutId(loanId, 1, investor, 'principal'), 'po'),
      'SUCCESS',
      principal.toString(),
    ],
  ]);
  expect(result).toMatchObject({ payouts: 1, succeeded: 1, failed: 0, manualReview: 0 });
  const { rows: offsets } = await db.pool.query(
    'SELECT payout_id, amount_minor::text FROM recovery_offsets WHERE recovery_id = $1',
    ['rc-ros1'],
  );
  expect(offsets).toEqual([
    {
      payout_id: scheduledPayoutId(loanId, 1, investor, 'interest'),
      amount_minor: interest.toString(),
    },
  ]);
  expect(await getRecovery(db.pool, 'rc-ros1')).toMatchObject({
    state: 'RECOVERED',
    recoveredMinor: interest,
  });
  await expectLedgerConsistent(db.pool);
}, 120_000);
