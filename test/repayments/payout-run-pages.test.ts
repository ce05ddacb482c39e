// A payout run over more investors than fit on one page continues as new between pages (its
// history stays bounded) and still pays every investor each part once.
import { Ledger } from '../../ledger';
import { repaymentWorkflow } from '../../workflows';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import type { PayoutRunResult } from '../../workflows/contracts/payout-run';
import { drainOutbox, maybeRecordHistory } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import { expectLedgerEqualsTruth, until, useOutcomeWorld } from '../outcomes/helpers';
import { INVESTOR_FUNDS, investorId, openAndFillLoan, type LoanPlan } from './helpers';
import { collectNow } from '../helpers/decisions';

const world = useOutcomeWorld({ poolSize: 20 });
const { db } = world;

it('payout run: five investors on pages of two, one page per execution, continue as new twice; every investor paid each part once', async () => {
  const plan: LoanPlan = {
    id: 'pg1',
    holdings: [100_000n, 150_000n, 200_000n, 250_000n, 300_000n],
    termMonths: 1,
    repaymentMethod: 'interest_then_principal',
    intervalSeconds: 3_600,
  };
  await openAndFillLoan(world.app, db, plan);
  await drainOutbox(world.dispatcher, db);
  await until(
    () =>
      world.env.client.workflow
        .getHandle('payout-disb-pg1')
        .result()
        .catch(() => 'NOT_YET'),
    (s) => s === 'SUCCEEDED',
    60_000,
  );
  const repayment = await world.env.client.workflow.start(repaymentWorkflow, {
    workflowId: 'repayment-pg1-1',
    taskQueue: TASK_QUEUE,
    args: [
      {
        loanId: 'pg1',
        installment: 1,
        queryPolicy: { attempts: 2, initialIntervalMs: 200, maxIntervalMs: 400 },
        payoutPaging: { pageSize: 2, pagesPerExecution: 1 },
      },
    ],
  });
  await collectNow(db.pool, repayment);
  expect(await repayment.result()).toBe('PAID_OUT');

  // Three executions of payout-run-pg1-1: two continued as new, the last completed with the totals.
  const run = world.env.client.workflow.getHandle('payout-run-pg1-1');
  const result: PayoutRunResult = await run.result();
  expect(result).toMatchObject({
    payouts: 10,
    succeeded: 10,
    failed: 0,
    manualReview: 0,
    skipped: 0,
  });
  const runs = await until(
    async () => {
      const found: { runId: string; status: string }[] = [];
      for await (const w of world.env.client.workflow.list({
        query: `WorkflowId = 'payout-run-pg1-1'`,
      }))
        found.push({ runId: w.runId, status: w.status.name });
      return found;
    },
    (found) => found.length >= 3,
    30_000,
  );
  expect(runs.map((r) => r.status).sort()).toEqual([
    'COMPLETED',
    'CONTINUED_AS_NEW',
    'CONTINUED_AS_NEW',
  ]);
  const first = runs.find((r) => r.status === 'CONTINUED_AS_NEW')!;
  const history = await world.env.client.workflow
    .getHandle('payout-run-pg1-1', first.runId)
    .fetchHistory();
  expect(history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
  expect((await run.describe()).runId).not.toBe(first.runId);

  const executed = world.simulator
    .truth()
    .filter((o) => o.kind === 'PAYOUT' && o.status === 'SUCCESS' && o.orderNo.startsWith('pg1-1-'));
  expect(executed.map((o) => o.orderNo).sort()).toEqual(
    plan.holdings
      .flatMap((_h, i) => [
        `pg1-1-${investorId(plan, i)}-interest`,
        `pg1-1-${investorId(plan, i)}-principal`,
      ])
      .sort(),
  );
  for (let i = 0; i < plan.holdings.length; i++) {
    // Everything the installment gave each investor went out to their bank: the balance is back
    // where the subscription left it.
    expect(
      (await new Ledger(db.pool).balance(`investor:${investorId(plan, i)}:available`)).posted,
    ).toBe(INVESTOR_FUNDS - plan.holdings[i]);
  }
  await expectLedgerConsistent(db.pool);
  await expectLedgerEqualsTruth(db.pool, world.simulator);
  await maybeRecordHistory(
    world.env.client.workflow.getHandle('payout-run-pg1-1', first.runId),
    'payoutRunWorkflow-continued-as-new',
  );
}, 180_000);
