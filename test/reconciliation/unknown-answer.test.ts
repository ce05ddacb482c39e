// Issue 15 item 10: matching asks the gateway about each order of ours the statement does not list.
// An unknown answer is not evidence: it is a pending UNKNOWN line asked again on the next run,
// never an OURS_ONLY an operator can adjust (a phantom amount). A FAILED answer is evidence even
// with a code that is not definitive: with the statement silent, nothing moved. A long day
// heartbeats its progress and a retried attempt resumes where the last one stopped. An exception's
// resolution honours Idempotency-Key (issue 16 item 7).
import { approveHeld } from '../helpers/approvals';
import { Readable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createReconciliationActivities } from '../../activities/reconciliation';
import type { GatewayClient } from '../../gateway/client';
import type { QueryOutcome } from '../../gateway/outcomes';
import { STATEMENT_COLUMNS } from '../../gateway/protocol';
import { Ledger } from '../../ledger';
import { loadStatement, reconRunId } from '../../reconciliation/statement';
import type { ReconSummary } from '../../workflows/contracts/reconciliation';
import { clientFor } from '../gateway/helpers';
import {
  clearingNet,
  reconcile,
  startPayOut,
  today,
  useFundedInvestorApp,
  untilManualReview,
} from './helpers';
import { resolveReview } from '../helpers/decisions';

const stack = useFundedInvestorApp({ id: 'una', name: 'Una' }, { resetAfterEach: true });
const { world, db } = stack;

it('an unknown gateway answer is a pending UNKNOWN line, never an OURS_ONLY an operator can adjust into a phantom amount', async () => {
  world.fault('processing-stuck'); // the gateway keeps answering "processing": unknown, every time
  const handle = await startPayOut(world, db.pool, 'un-stuck', 'una', 15_000n);
  await untilManualReview(handle, { queryErrors: 'retry' });
  await resolveReview(db.pool, handle, { decision: 'paid', reason: 'looked paid' });
  expect(await handle.result()).toBe('SUCCEEDED');
  await world.reset();

  const day = await reconcile(stack.app, stack.operator, today());
  const lines = day.exceptions.filter((e) => e.orderNo === 'un-stuck');
  expect(lines.map((e) => [e.class, e.status])).toEqual([['UNKNOWN', 'PENDING']]);
  expect(day.state).toBe('PENDING'); // asked again on the next run; the day does not close
  for (const e of lines) {
    const res = await stack.app.inject({
      method: 'POST',
      url: `/v1/reconciliations/default/${today()}/exceptions/${e.id}/resolve`,
      headers: stack.operator,
      payload: { action: 'adjust', reason: 'not at the gateway' },
    });
    expect(res.statusCode).toBe(409);
  }
  // no phantom reversal against suspense
  expect(await clearingNet(db.pool, 'un-stuck')).toBe(15_000n);
  const { rows } = await db.pool.query(
    `SELECT 1 FROM ledger_transactions WHERE metadata->>'orderNo' = 'un-stuck' AND metadata ? 'exceptionId'`,
  );
  expect(rows).toEqual([]);
}, 90_000);

it('a payout the gateway refused with an unlisted code, decided paid by an operator, is a STATUS_MISMATCH that an adjustment corrects (chaos seed 6)', async () => {
  // FAILED, nothing executed, with a code that is not definitive: the payout waits in review
  world.fault('fail:SYSTEM_BUSY');
  const handle = await startPayOut(world, db.pool, 'un-busy', 'una', 12_000n);
  await untilManualReview(handle, { queryErrors: 'retry' });
  // wrong, and allowed by the evidence
  await resolveReview(db.pool, handle, { decision: 'paid', reason: 'looked paid' });
  expect(await handle.result()).toBe('SUCCEEDED');
  await world.reset();
  expect(await clearingNet(db.pool, 'un-busy')).toBe(12_000n);

  // The statement does not list it and the gateway, asked, still says FAILED SYSTEM_BUSY: nothing
  // moved. the day may have run already in this file
  const day = await reconcile(stack.app, stack.operator, today(), true);
  const lines = day.exceptions.filter((e) => e.orderNo === 'un-busy');
  expect(lines.map((e) => [e.class, e.status])).toEqual([['STATUS_MISMATCH', 'OPEN']]);
  const adjust = (action = 'adjust') =>
    stack.app.inject({
      method: 'POST',
      url: `/v1/reconciliations/default/${today()}/exceptions/${lines[0].id}/resolve`,
      headers: { ...stack.operator, 'idempotency-key': `adjust-${lines[0].id}` },
      payload: { action, reason: 'the gateway refused it' },
    });
  const res = await adjust();
  // an adjustment waits for a second operator; a retry under its key replays the same hold, and
  // the key with another request is refused
  const retried = await adjust();
  expect({
    status: retried.statusCode,
    body: retried.json(),
    replayed: retried.headers['idempotency-replayed'],
  }).toEqual({ status: 202, body: res.json(), replayed: 'true' });
  expect((await adjust('accept')).statusCode).toBe(422);
  expect(await clearingNet(db.pool, 'un-busy')).toBe(12_000n);
  await approveHeld(stack.app, res);
  // the ledger now says what the gateway did
  expect(await clearingNet(db.pool, 'un-busy')).toBe(0n);
  const again = await reconcile(stack.app, stack.operator, today(), true);
  expect(again.exceptions.filter((e) => e.orderNo === 'un-busy' && e.status === 'OPEN')).toEqual(
    [],
  );
}, 90_000);

it('matching heartbeats the order it reached and a retried attempt resumes after it', async () => {
  const date = '2026-01-15';
  const ref = { runId: reconRunId('default', date), channel: 'default', date };
  // Three orders of ours (collections) the day's statement does not list.
  for (const orderNo of ['hb-1', 'hb-2', 'hb-3']) {
    await new Ledger(db.pool).transfer({
      idempotencyKey: `hb:${orderNo}`,
      from: 'gateway:default:clearing',
      to: 'investor:una:available',
      amount: 1_000n,
      currency: 'CNY',
      metadata: { orderNo, reconDay: date },
    });
  }
  await loadStatement(db.pool, ref, Readable.from([`${STATEMENT_COLUMNS.join(',')}\n`]));

  const asked: string[] = [];
  const gatewayAnswering = (answer: (orderNo: string) => QueryOutcome): GatewayClient => {
    const real = clientFor(world.simulator.url);
    return Object.assign(Object.create(real) as GatewayClient, {
      query: async (request: { orderNo: string }) => {
        asked.push(request.orderNo);
        return answer(request.orderNo);
      },
    });
  };
  // The first attempt gets through two orders, then the gateway becomes unreachable.
  const first = new MockActivityEnvironment({ attempt: 1 });
  const beats: unknown[] = [];
  first.on('heartbeat', (d: unknown) => beats.push(d));
  const activities1 = createReconciliationActivities({
    pool: db.pool,
    gateway: gatewayAnswering((o) =>
      o === 'hb-3' ? { kind: 'not_sent', reason: 'ECONNREFUSED' } : { kind: 'not_found' },
    ),
  });
  await expect(first.run(activities1.matchStatement, 'default', date)).rejects.toThrow(
    /unreachable/,
  );
  expect(asked).toEqual(['hb-1', 'hb-2', 'hb-3']);
  expect(beats.length).toBeGreaterThan(0);

  // The retry carries the last heartbeat: it does not ask about hb-1 and hb-2 again.
  asked.length = 0;
  const retry = new MockActivityEnvironment({
    attempt: 2,
    heartbeatDetails: beats[beats.length - 1],
  });
  const activities2 = createReconciliationActivities({
    pool: db.pool,
    gateway: gatewayAnswering(() => ({ kind: 'not_found' })),
  });
  const summary = (await retry.run(activities2.matchStatement, 'default', date)) as ReconSummary;
  expect(asked).toEqual(['hb-3']);
  expect(summary.openExceptions).toBe(3); // each asked once, each an OURS_ONLY
  const { rows } = await db.pool.query(
    `SELECT order_no, class, status FROM recon_exceptions WHERE run_id = $1 ORDER BY order_no`,
    [ref.runId],
  );
  expect(rows).toEqual(
    ['hb-1', 'hb-2', 'hb-3'].map((o) => ({ order_no: o, class: 'OURS_ONLY', status: 'OPEN' })),
  );
});
