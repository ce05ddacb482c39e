// Issue 15, items 2 and 3, the ordering that slipped through: an operator's not_paid is accepted
// and its void is being written when the gateway's signed SUCCESS notice arrives. The route sees
// the payout still in review and signals it; the workflow has already decided. Today the notice
// was counted as SUCCESS and nothing else happened: the incident's own signal, left for the next
// day's statement. It must be an alert and a reconciliation exception at once.
import type { Client } from '@temporalio/client';
import { buildApp } from '../../api/app';
import { inTransaction } from '../../db/pool';
import { getPayout, voidPayout } from '../../payments/payouts';
import { ADMIN_KEY } from '../api/helpers';
import { SECRET } from '../gateway/helpers';
import { fundInvestor } from '../helpers/stack';
import { createInvestor, createWithdrawalPayout } from '../helpers/withdrawals';
import {
  operatorHeaders,
  postNotice,
  until,
  useOutcomeWorld,
  withdrawalInReview,
} from '../outcomes/helpers';

const world = useOutcomeWorld({ poolSize: 20 });
const { db } = world;

it("a SUCCESS notice crossing an operator's not_paid (arriving while the void is written) is an alert and an exception at once", async () => {
  const id = 'cx-payout-1';
  const { wf, evidence } = await payoutInReview('cx', id);

  // The worst ordering: the void's status update is held on the payout's row while the notice comes
  // in.
  const lock = await db.pool.connect();
  try {
    await lock.query('BEGIN');
    await lock.query('SELECT 1 FROM payouts WHERE id = $1 FOR UPDATE', [id]);
    const {
      rows: [{ holder }],
    } = await lock.query<{ holder: number }>('SELECT pg_backend_pid() AS holder');
    const decided = world.app.inject({
      method: 'POST',
      url: `/v1/reviews/${wf.workflowId}/resolve`,
      headers: await operatorHeaders(world.app),
      payload: { decision: 'not_paid', reason: 'nothing on the statement' },
    });
    // Blocked by this lock exactly (pg_stat_activity is the whole cluster's: another test file's
    // wait is not ours).
    await until(
      async () =>
        (
          await db.pool.query(
            'SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
            [holder],
          )
        ).rowCount ?? 0,
      (n) => n > 0,
      30_000,
    );
    const notice = await postNotice(world.app, {
      orderNo: evidence.orderNo,
      kind: 'PAYOUT',
      amountMinor: 9_900n,
      status: 'SUCCESS',
    });
    expect(notice.statusCode).toBe(200);
    await lock.query('COMMIT');
    expect((await decided).statusCode).toBe(200);
  } finally {
    lock.release();
  }
  // the operator's decision stands: the money is back with the investor...
  expect(await wf.result()).toBe('FAILED');

  // ...and the gateway's word against it is an exception an operator sees now, not tomorrow.
  const exceptions = await until(
    () =>
      db.pool
        .query('SELECT class, status, detail FROM recon_exceptions WHERE order_no = $1', [
          evidence.orderNo,
        ])
        .then((r) => r.rows),
    (rows) => rows.length > 0,
    10_000,
  );
  expect(exceptions).toEqual([
    expect.objectContaining({
      class: 'STATUS_MISMATCH',
      status: 'OPEN',
      detail: expect.objectContaining({
        source: 'notice',
        gatewaySays: 'SUCCESS',
        recorded: 'FAILED',
      }),
    }),
  ]);
  expect(
    world.simulator
      .truth()
      .filter((o) => o.orderNo === evidence.orderNo)
      .map((o) => o.status),
  ).toEqual(['SUCCESS']);
  const metrics = (await world.app.inject({ method: 'GET', url: '/metrics' })).body;
  expect(metrics).toMatch(/^gateway_notice_exceptions_open 1$/m);
}, 120_000);

/**
 * A payout of `id` for investor `who`, executed at the gateway but answered 500, every query 503:
 * in MANUAL_REVIEW.
 */
function payoutInReview(who: string, id: string) {
  return withdrawalInReview(world, { id: who, name: who, key: `inv-${who}` }, id, 9_900n);
}

it('a notice stored by a delivery that died before acting on it is acted on when the gateway resends it, not taken for a duplicate', async () => {
  const { wf, evidence } = await payoutInReview('rcv', 'rcv-payout-1');
  // The API stored the notice and died before signalling it: the row is left RECEIVED.
  const notifyId = 'nt-died-half-way';
  await db.pool.query(
    `INSERT INTO gateway_notices (notify_id, order_no, status, definitive, result) VALUES ($1, $2, 'SUCCESS', true, 'RECEIVED')`,
    [notifyId, evidence.orderNo],
  );
  const resent = await postNotice(world.app, {
    orderNo: evidence.orderNo,
    kind: 'PAYOUT',
    amountMinor: 9_900n,
    status: 'SUCCESS',
    notifyId,
  });
  expect(resent.statusCode).toBe(200);
  expect(await wf.result()).toBe('SUCCEEDED'); // the resend settled the review
  const { rows } = await db.pool.query('SELECT result FROM gateway_notices WHERE notify_id = $1', [
    notifyId,
  ]);
  expect(rows).toEqual([{ result: 'SUCCESS' }]);
}, 120_000);

it('the route judges a notice again after signalling it: an order that became final the other way meanwhile is an alert and an exception', async () => {
  // The one ordering the worker's own check cannot see: the decision's write commits between the
  // route's lookup and its check after the signal. A Temporal client whose signal lands exactly
  // then.
  await createInvestor(world.app, { id: 'rj', name: 'rj', key: 'inv-rj' });
  await fundInvestor(db, 'rj', 1_000_000n);
  const id = 'rj-payout-1';
  await createWithdrawalPayout(db.pool, id, 'rj', 9_900n);
  const payout = (await getPayout(db.pool, id))!;
  let voided = false;
  const temporal = {
    workflow: {
      getHandle: () => ({
        signal: async () => {
          if (voided) return;
          voided = true; // the operator's not_paid, written as the notice is delivered
          await inTransaction(db.pool, (tx) =>
            voidPayout(tx, payout, {
              decidedBy: 'operator:x',
              reason: 'nothing on the statement',
              decision: 'not_paid',
            }),
          );
        },
      }),
    },
  } as unknown as Client;
  const app = await buildApp({
    pool: db.pool,
    adminApiKey: ADMIN_KEY,
    temporal,
    gatewaySecret: SECRET,
  });
  try {
    const notice = await postNotice(app, {
      orderNo: payout.orderNo,
      kind: 'PAYOUT',
      amountMinor: 9_900n,
      status: 'SUCCESS',
    });
    expect(notice.statusCode).toBe(200);
    expect(voided).toBe(true);
    const { rows } = await db.pool.query(
      `SELECT class, status, detail->>'source' AS source FROM recon_exceptions WHERE order_no = $1`,
      [payout.orderNo],
    );
    expect(rows).toEqual([{ class: 'STATUS_MISMATCH', status: 'OPEN', source: 'notice' }]);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(
      /^gateway_notifications_total\{result="CONTRADICTS_RECORD"\} 1$/m,
    );
  } finally {
    await app.close();
  }
});
