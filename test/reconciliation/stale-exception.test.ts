// Issue 15 item 1: a payout the gateway executed on the day while our workflow still waits
// (QUERYING, MANUAL_REVIEW) must not become an exception whose resolution posts the money a
// second time once the review is decided `paid`. Real Payout and Reconciliation workflows on a
// Temporal dev server, the gateway simulator, Postgres.
import { approveHeld, heldApproval, verdict } from '../helpers/approvals';
import type { WorkflowHandle } from '@temporalio/client';
import { untilEvidence } from '../helpers/gateway-world';
import { maybeRecordHistory } from '../helpers/stack';
import {
  clearingNet,
  reconcile,
  simulatorControl,
  startPayOut,
  today,
  type DayView,
  useFundedInvestorApp,
  untilManualReview,
} from './helpers';
import { resolveReview } from '../helpers/decisions';

const stack = useFundedInvestorApp({ id: 'sam', name: 'Sam' }, { resetAfterEach: true });
const { world, db } = stack;

/** A payout the gateway executed, answered 5xx, then unreachable for every query: MANUAL_REVIEW. */
async function executedButInReview(id: string, amountMinor: bigint): Promise<WorkflowHandle> {
  world.fault('error-5xx-after-execute');
  const handle = await startPayOut(world, db.pool, id, 'sam', amountMinor, {
    attempts: 2,
    initialIntervalMs: 1_000,
    maxIntervalMs: 1_000,
  });
  await untilEvidence(handle, (e) => e.attempts.length >= 1);
  await world.simulator.startOutage('503');
  await untilManualReview(handle);
  await world.reset();
  return handle;
}

const resolve = (id: string, payload: object) =>
  stack.app.inject({
    method: 'POST',
    url: `/v1/reconciliations/default/${today()}/exceptions/${id}/resolve`,
    headers: stack.operator,
    payload,
  });
/**
 * A resolution as the operators make it: a held one (adjust, recover) approved by a second
 * operator; the answer the held request would have given (the approval's refusal when refused).
 */
const resolveApproved = async (id: string, payload: object) => {
  const res = await resolve(id, payload);
  if (res.statusCode !== 202) return res;
  return verdict(stack.app, heldApproval(res).id, 'approve');
};
const recoveries = async (orderNo: string) =>
  (
    await db.pool.query(
      `SELECT r.id FROM recoveries r JOIN recon_exceptions e ON e.id = r.exception_id WHERE e.order_no = $1`,
      [orderNo],
    )
  ).rows;

it('a stale exception does not double-post after the review is decided paid', async () => {
  const review = await executedButInReview('st-review', 20_000n);
  const day = await reconcile(stack.app, stack.operator, today());
  // In flight: a pending line, re-examined on the next run, not an exception an operator can act
  // on.
  const lines = day.exceptions.filter((e) => e.orderNo === 'st-review');
  expect(lines.map((e) => e.status)).toEqual(['PENDING']);
  expect(day.state).toBe('PENDING'); // not CLEAN: the day has a line still in flight
  await resolveReview(db.pool, review, { decision: 'paid', reason: 'the bank shows the transfer' });
  expect(await review.result()).toBe('SUCCEEDED');

  // A second operator acts on whatever the day shows for the order: refused, nothing posted.
  for (const e of lines)
    expect((await resolve(e.id, { action: 'recover', reason: 'paid twice?' })).statusCode).toBe(
      409,
    );
  expect(await clearingNet(db.pool, 'st-review')).toBe(20_000n);

  // The next run: the line no longer applies, it is CLEARED (audited), the day closes.
  const again = await reconcile(stack.app, stack.operator, today(), true);
  expect(again.exceptions.filter((e) => e.orderNo === 'st-review').map((e) => e.status)).toEqual([
    'CLEARED',
  ]);
  expect(again.state).toBe('CLEAN');
  const { rows: audit } = await db.pool.query(
    `SELECT actor, details FROM audit_log WHERE action = 'exception.cleared' AND details->>'orderNo' = 'st-review'`,
  );
  expect(audit).toHaveLength(1);
  expect(await clearingNet(db.pool, 'st-review')).toBe(20_000n); // once, as at the gateway
  expect(await recoveries('st-review')).toEqual([]);
  const recon = world.env.client.workflow.getHandle(`recon-default-${today()}`);
  expect(await recon.result()).toMatchObject({
    state: 'CLEAN',
    openExceptions: 0,
    pendingLines: 0,
  });
  await maybeRecordHistory(recon, 'reconciliationWorkflow-pending-rechecked');
}, 90_000);

it('a resolution re-derives the order when it commits: an exception found before the review was decided posts nothing again', async () => {
  // Something real keeps the day open (a second-channel payment) ...
  await simulatorControl(world, '/_sim/executed', {
    kind: 'PAYOUT',
    orderNo: 'st-second-channel',
    amount: '10.00',
    currency: 'CNY',
  });
  const review = await executedButInReview('st-race', 30_000n);
  let day: DayView = await reconcile(stack.app, stack.operator, today(), true);
  expect(day.state).toBe('EXCEPTIONS');
  // ... and, as found by the matching before this fix (a row of an earlier build), the in-flight
  // order as THEIRS_ONLY with the gateway's amount frozen in it.
  await db.pool.query(
    `INSERT INTO recon_exceptions (run_id, class, order_no, kind, theirs_minor, party_id)
     VALUES ($1, 'THEIRS_ONLY', 'st-race', 'PAYOUT', 30000, 'sam') ON CONFLICT DO NOTHING`,
    [`default:${today()}`],
  );
  const {
    rows: [stale],
  } = await db.pool.query(
    `SELECT id::text FROM recon_exceptions WHERE order_no = 'st-race' AND class = 'THEIRS_ONLY'`,
  );

  // While the order is in review, its own workflow decides first: refused, nothing posted.
  const early = await resolveApproved(stale.id, {
    action: 'recover',
    reason: 'gateway paid, we did not record it',
  });
  expect(early.statusCode).toBe(409);
  expect(early.json().error.message).toMatch(/still in flight \(MANUAL_REVIEW\)/);
  expect(await clearingNet(db.pool, 'st-race')).toBe(0n);

  // The worst ordering: the review is decided while another operator recovers the exception.
  const [decided, recovered] = await Promise.all([
    resolveReview(db.pool, review, { decision: 'paid', reason: 'the bank shows the transfer' }),
    resolveApproved(stale.id, { action: 'recover', reason: 'gateway paid, we did not record it' }),
  ]);
  expect(decided).toBe('SUCCEEDED');
  expect([200, 409]).toContain(recovered.statusCode);
  // Still open after a refusal (the order was in flight): a resolution now finds it accounted for.
  const {
    rows: [row],
  } = await db.pool.query(`SELECT status FROM recon_exceptions WHERE id = $1`, [stale.id]);
  if (row.status === 'OPEN')
    expect(
      (
        await resolveApproved(stale.id, {
          action: 'recover',
          reason: 'gateway paid, we did not record it',
        })
      ).statusCode,
    ).toBe(200);
  const {
    rows: [after],
  } = await db.pool.query(
    `SELECT status, transaction_id, recovery_id FROM recon_exceptions WHERE id = $1`,
    [stale.id],
  );
  // a no-op, recorded
  expect(after).toEqual({ status: 'CLEARED', transaction_id: null, recovery_id: null });
  expect(await clearingNet(db.pool, 'st-race')).toBe(30_000n);
  expect(await recoveries('st-race')).toEqual([]);
  const { rows: audit } = await db.pool.query(
    `SELECT details FROM audit_log WHERE action = 'exception.cleared' AND subject = $1`,
    [`default:${today()}#${stale.id}`],
  );
  expect(audit).toHaveLength(1);

  // The real exception still resolves normally, and the day closes.
  day = await reconcile(stack.app, stack.operator, today(), true);
  const open = day.exceptions.filter((e) => e.status === 'OPEN');
  expect(open.map((e) => [e.class, e.orderNo])).toEqual([['THEIRS_ONLY', 'st-second-channel']]);
  // an adjustment is carried out once a second operator approves it
  await approveHeld(
    stack.app,
    await resolve(open[0].id, { action: 'adjust', reason: 'second channel, under investigation' }),
  );
  expect(await clearingNet(db.pool, 'st-second-channel')).toBe(1_000n);
}, 90_000);

it('a payout still QUERYING when its day is matched is a pending line, cleared once its own query posts it', async () => {
  // executed; the answer is a 5xx; the first query comes in 6 s
  world.fault('error-5xx-after-execute');
  const querying = await startPayOut(world, db.pool, 'st-querying', 'sam', 40_000n, {
    attempts: 2,
    initialIntervalMs: 6_000,
    maxIntervalMs: 6_000,
  });
  await untilEvidence(querying, (e) => e.state === 'QUERYING');
  await world.reset();
  const day = await reconcile(stack.app, stack.operator, today(), true);
  const lines = day.exceptions.filter((e) => e.orderNo === 'st-querying');
  expect(lines.map((e) => [e.class, e.status])).toEqual([['IN_FLIGHT', 'PENDING']]);
  for (const e of lines)
    expect((await resolve(e.id, { action: 'adjust', reason: 'theirs only?' })).statusCode).toBe(
      409,
    );
  expect(await querying.result()).toBe('SUCCEEDED'); // its query found it paid and posted it
  const again = await reconcile(stack.app, stack.operator, today(), true);
  expect(again.exceptions.filter((e) => e.orderNo === 'st-querying').map((e) => e.status)).toEqual([
    'CLEARED',
  ]);
  expect(await clearingNet(db.pool, 'st-querying')).toBe(40_000n);
}, 90_000);
