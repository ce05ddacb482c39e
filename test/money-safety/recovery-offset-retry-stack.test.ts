// Issue 15, item 7, on the whole stack: a real payout run on a Temporal dev server, paying through
// the gateway simulator, whose page preparation loses its reply after it committed (a worker
// interceptor fails the first attempt once it has run, as a crash between commit and reply would).
// The investor owes exactly their interest share: the retried page must find that offset by the
// payout's id although it closed the recovery, so the interest is never sent and the recovery is
// offset once. Before the fix the retry held and sent the whole share again.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { orderNoFor } from '../../payments/order-numbers';
import { scheduledPayoutId } from '../../ids/derived';
import { workflowIds } from '../../ids/workflow-ids';
import { getRecovery } from '../../payments/recoveries';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import type { PayoutRunResult } from '../../workflows/contracts/payout-run';
import { clientFor, startTestSimulator, tempDir } from '../gateway/helpers';
import { loseFirstReply } from '../helpers/lost-reply';
import { useTestDatabase } from '../helpers/postgres';
import { createDevServerEnv, workflowBundle } from '../helpers/temporal';
import { expectLedgerConsistent } from '../ledger/helpers';
import { collectAndDistribute, createRepayingLoan, openOwedRecovery } from './fixtures';
import { startPayoutRunAsJob } from '../../cli/payout-run-job';

const dir = tempDir();
let env: TestWorkflowEnvironment;
let simulator: RunningSimulator;
let worker: Worker;
let running: Promise<void>;
/**
 * The first preparePayoutPage attempt commits, then "dies" before its reply reaches the workflow.
 */
const replies = loseFirstReply((type) => type === 'preparePayoutPage');

const db = useTestDatabase();
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await simulator?.close();
  dir.remove();
});
beforeAll(async () => {
  simulator = await startTestSimulator({ dataDir: dir.path });
  env = await createDevServerEnv();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: createActivities({
      pool: db.pool,
      temporal: env.client,
      gateway: clientFor(simulator.url),
    }),
    interceptors: { activity: [replies.factory] },
  });
  running = worker.run();
});

it('a payout run whose page is prepared twice sends the share less the offset, and offsets the recovery once', async () => {
  const loanId = 'ros1';
  const investor = `${loanId}-a`;
  await createRepayingLoan(db.pool, {
    id: loanId,
    holdings: [{ investorId: investor, holdingMinor: 100_000n }],
    termMonths: 1,
    repaymentMethod: 'interest_then_principal',
  });
  await collectAndDistribute(db.pool, loanId, 1);
  const {
    rows: [share],
  } = await db.pool.query(
    'SELECT interest_minor::text, principal_minor::text FROM repayment_shares WHERE loan_id = $1',
    [loanId],
  );
  const interest = BigInt(share.interest_minor);
  await openOwedRecovery(db.pool, 'rc-ros1', investor, interest);

  const run = await startPayoutRunAsJob(db.pool, env.client, {
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
  const executed = simulator.truth().filter((o) => o.kind === 'PAYOUT');
  expect(executed.map((o) => [o.orderNo, o.status, o.amountMinor.toString()])).toEqual([
    [
      orderNoFor(scheduledPayoutId(loanId, 1, investor, 'principal'), 'po'),
      'SUCCESS',
      share.principal_minor,
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
