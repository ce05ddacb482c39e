// Reconciliation on the real stack pieces: payouts through the Payout workflow and the gateway
// simulator, the simulator's own statement (with errors injected), the Reconciliation workflow on
// a Temporal dev server, Postgres. Each exception class is found exactly once and nothing else;
// a re-run of the day adds nothing; the day closes only when every exception is resolved.
import { approveHeld, heldApproval } from '../helpers/approvals';
import { SearchAttributes } from '../../workflows/contracts/common';
import { reconSummaryQuery } from '../../workflows/contracts/reconciliation';
import { untilEvidence } from '../helpers/gateway-world';
import { maybeRecordHistory } from '../helpers/stack';
import { until } from '../repayments/helpers';
import {
  payOut,
  reconcile,
  simulatorControl,
  startPayOut,
  today,
  useFundedInvestorApp,
  untilManualReview,
} from './helpers';
import { resolveException, resolveReview } from '../helpers/decisions';

const stack = useFundedInvestorApp({ id: 'rita', name: 'Rita' });
const { world, db } = stack;

it('finds each class of exception exactly once, nothing else, and a re-run adds nothing', async () => {
  // Six orders of ours, each meeting a different fate, plus one the gateway made on its own.
  expect(await payOut(world, db.pool, 'rc-ok', 'rita', 10_000n)).toBe('SUCCEEDED');
  expect(await payOut(world, db.pool, 'rc-amount', 'rita', 11_000n)).toBe('SUCCEEDED');
  expect(await payOut(world, db.pool, 'rc-fee', 'rita', 12_000n)).toBe('SUCCEEDED');
  expect(await payOut(world, db.pool, 'rc-dup', 'rita', 13_000n)).toBe('SUCCEEDED');
  // executed, but answered with a listed failure: we void it
  world.fault('lie-failed:INVALID_ACCOUNT');
  expect(await payOut(world, db.pool, 'rc-status', 'rita', 14_000n)).toBe('FAILED');
  // Never reaches the bank, then every query meets an outage; an operator wrongly says it was paid.
  // (The gateway must be able to say it never saw the order: an unknown answer is no OURS_ONLY.)
  world.fault('timeout-no-execute');
  const handle = await startPayOut(world, db.pool, 'rc-ours', 'rita', 15_000n, {
    attempts: 2,
    initialIntervalMs: 1_000,
    maxIntervalMs: 1_000,
  });
  await untilEvidence(handle, (e) => e.attempts.length >= 1);
  await world.simulator.startOutage('503');
  await untilManualReview(handle, { queryErrors: 'retry' });
  await world.reset();
  await resolveReview(db.pool, handle, { decision: 'paid', reason: 'misread the bank screen' });
  expect(await handle.result()).toBe('SUCCEEDED');
  await simulatorControl(world, '/_sim/executed', {
    kind: 'PAYOUT',
    orderNo: 'second-channel-1',
    amount: '160.00',
    currency: 'CNY',
  });
  await simulatorControl(world, '/_sim/statement-adjustments', {
    orderNo: 'rc-amount',
    currency: 'CNY',
    amount: '111.00',
  });
  await simulatorControl(world, '/_sim/statement-adjustments', {
    orderNo: 'rc-fee',
    currency: 'CNY',
    fee: '2.00',
  });
  await simulatorControl(world, '/_sim/statement-adjustments', {
    orderNo: 'rc-dup',
    currency: 'CNY',
    duplicate: true,
  });

  const day = await reconcile(stack.app, stack.operator, today());
  expect(day.state).toBe('EXCEPTIONS');
  const found = day.exceptions.map((e) => [e.class, e.orderNo]).sort();
  expect(found).toEqual(
    [
      ['AMOUNT_MISMATCH', 'rc-amount'],
      ['DUPLICATE_AT_GATEWAY', 'rc-dup'],
      ['FEE_MISMATCH', 'rc-fee'],
      ['OURS_ONLY', 'rc-ours'],
      ['STATUS_MISMATCH', 'rc-status'],
      ['THEIRS_ONLY', 'second-channel-1'],
    ].sort(),
  );
  expect(day.matched).toBe(1); // rc-ok
  // ok, amount, fee, dup, ours (the voided one moved nothing in our books)
  expect(day.ours.count).toBe(5);
  expect(day.theirs.count).toBe(7); // ok, amount, fee, dup twice, status, second channel
  const workflowId = `recon-default-${today()}`;
  const recon = world.env.client.workflow.getHandle(workflowId);
  // The verdict is in Postgres a moment before the workflow upserts its search attribute.
  await until(
    async () => (await recon.describe()).typedSearchAttributes.get(SearchAttributes.ReconState),
    (state) => state === 'Exceptions',
    30_000,
  );

  // Refused decisions change nothing: a fee is not adjusted, a recovery needs an investor.
  const byOrder = Object.fromEntries(day.exceptions.map((e) => [e.orderNo, e]));
  const resolve = (id: string, payload: object) =>
    stack.app.inject({
      method: 'POST',
      url: `/v1/reconciliations/default/${today()}/exceptions/${id}/resolve`,
      headers: stack.operator,
      payload,
    });
  expect(
    (await resolve(byOrder['rc-fee'].id, { action: 'adjust', reason: 'try' })).statusCode,
  ).toBe(409);
  const noInvestor = await resolve(byOrder['second-channel-1'].id, {
    action: 'recover',
    reason: 'paid twice',
  });
  expect(noInvestor.statusCode).toBe(409);
  expect(noInvestor.json().error.message).toMatch(/investorId/);

  // A re-run while the day is open is the same run; one after it closed finds the same items.
  expect(
    (
      await stack.app.inject({
        method: 'POST',
        url: '/v1/reconciliations',
        headers: stack.operator,
        payload: { channel: 'default', date: today() },
      })
    ).json(),
  ).toEqual({ workflowId, started: false });
  for (const e of day.exceptions) {
    const res = await resolve(e.id, {
      action: e.class === 'FEE_MISMATCH' ? 'accept' : 'adjust',
      reason: `checked ${e.orderNo} with the bank`,
    });
    // an adjustment is carried out once a second operator approves it; meanwhile the day waits
    // in the Web UI as ApprovalState "Pending", and its exception stays open
    if (e.class === 'FEE_MISMATCH') {
      expect(res.statusCode).toBe(200);
      continue;
    }
    heldApproval(res);
    await until(
      async () =>
        (await recon.describe()).typedSearchAttributes.get(SearchAttributes.ApprovalState),
      (state) => state === 'Pending',
      30_000,
    );
    const {
      rows: [open],
    } = await db.pool.query('SELECT status FROM recon_exceptions WHERE id = $1', [e.id]);
    expect(open.status).toBe('OPEN');
    await approveHeld(stack.app, res);
    await until(
      async () =>
        (await recon.describe()).typedSearchAttributes.get(SearchAttributes.ApprovalState),
      (state) => state === 'Approved',
      30_000,
    );
  }
  expect(await recon.result()).toMatchObject({ state: 'CLEAN', openExceptions: 0 });
  expect((await recon.describe()).typedSearchAttributes.get(SearchAttributes.ReconState)).toBe(
    'Clean',
  );
  const { rows: adjustments } = await db.pool.query(
    `SELECT metadata FROM ledger_transactions WHERE metadata->>'reconRunId' = $1`,
    [`default:${today()}`],
  );
  expect(adjustments).toHaveLength(5);
  expect(adjustments[0].metadata).toMatchObject({
    decision: 'adjust',
    decidedBy: expect.stringMatching(/^operator:/),
  });
  await maybeRecordHistory(recon, 'reconciliationWorkflow-exceptions-resolved-after-approval');

  const again = await reconcile(stack.app, stack.operator, today(), true);
  expect(again.state).toBe('CLEAN');
  expect(again.exceptions).toHaveLength(6); // the same six, resolved; no copies
  expect(again.exceptions.every((e) => e.status === 'RESOLVED')).toBe(true);
  await expect(
    world.env.client.workflow.getHandle(workflowId).query(reconSummaryQuery),
  ).resolves.toMatchObject({ state: 'CLEAN' });
  await expect(
    resolveException(db.pool, recon, {
      exceptionId: byOrder['rc-ok']?.id ?? '1',
      action: 'accept',
      reason: 'x',
    }),
  ).rejects.toThrow();
}, 120_000);
