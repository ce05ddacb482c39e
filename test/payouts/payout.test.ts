// Payouts end to end: the Payout workflow on a real Temporal dev server pays through the real
// gateway simulator with injected faults. Never twice, never on a guess: after each test every
// payout the gateway executed is posted exactly once in the ledger, and nothing else is.
import { Ledger } from '../../ledger';
import { getPayout } from '../../payments/payouts';
import { payoutWorkflow } from '../../workflows';
import { SearchAttributes, TASK_QUEUE } from '../../workflows/contracts/common';
import { reviewEvidenceQuery, type QueryPolicy } from '../../workflows/contracts/gateway-order';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { signNotification, unixSeconds } from '../../gateway/signing';
import { ADMIN_KEY, useTestApi } from '../api/helpers';
import { ACCOUNT, SECRET } from '../gateway/helpers';
import { expectLedgerBooksExecuted, GatewayWorld, untilEvidence } from '../helpers/gateway-world';
import { createWithdrawalPayout } from '../helpers/withdrawals';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor, maybeRecordHistory } from '../helpers/stack';
import { addVerifiedBankAccount } from '../helpers/bank-accounts';
import { expectLedgerConsistent } from '../ledger/helpers';
import { resolveReview } from '../helpers/decisions';
import { workflowIds } from '../../ids/workflow-ids';

const world = new GatewayWorld();
// before the database's hooks: the worker stops before its pool closes
afterAll(() => world.stop());
const db = useTestDatabase();
const api = useTestApi(db);
let investorKey: string;

beforeAll(async () => {
  await world.start(db);
  investorKey = await api.partyKey('investor', 'pat');
  await fundInvestor(db, 'pat', 1_000_000n);
});

afterEach(async () => {
  await world.reset();
  await expectLedgerConsistent(db.pool);
  await expectLedgerBooksExecuted(world, db, 'PAYOUT', 'payout:%:post');
  const { rows: dup } = await db.pool.query(
    `SELECT count(*)::int AS n FROM ledger_transactions WHERE idempotency_key LIKE 'payout:%:post' GROUP BY metadata->>'orderNo' HAVING count(*) > 1`,
  );
  expect(dup).toEqual([]);
});

const fault = (spec: string) => world.fault(spec);
const FAST: QueryPolicy = { attempts: 3, initialIntervalMs: 200, maxIntervalMs: 400 };
let n = 0;

async function payout(amountMinor: bigint, queryPolicy = FAST) {
  n += 1;
  const id = `po-${n}-${Date.now().toString(36)}`;
  await createWithdrawalPayout(db.pool, id, 'pat', amountMinor);
  // started here with a short query policy instead of by the dispatcher
  await db.pool.query('DELETE FROM outbox');
  const handle = await world.env.client.workflow.start(payoutWorkflow, {
    workflowId: workflowIds.payout(id),
    taskQueue: TASK_QUEUE,
    args: [{ payoutId: id, partyId: 'pat', queryPolicy }],
  });
  return { id, handle };
}
const balance = () => new Ledger(db.pool).balance('investor:pat:available');

it('holds before the gateway call, then posts a successful payout once', async () => {
  const before = await balance();
  const { id, handle } = await payout(10_000n);
  expect((await balance()).pendingDebits - before.pendingDebits).toBe(10_000n); // held at once
  expect(await handle.result()).toBe('SUCCEEDED');
  expect(await balance()).toMatchObject({
    posted: before.posted - 10_000n,
    pendingDebits: before.pendingDebits,
  });
  expect((await getPayout(db.pool, id))?.status).toBe('SUCCEEDED');
  expect((await handle.describe()).typedSearchAttributes.get(SearchAttributes.PayoutStatus)).toBe(
    'SUCCEEDED',
  );
  await maybeRecordHistory(handle, 'payoutWorkflow-succeeded');
});

it('voids the hold on a listed definitive failure', async () => {
  fault('fail:INVALID_ACCOUNT');
  const before = await balance();
  const { handle } = await payout(20_000n);
  expect(await handle.result()).toBe('FAILED');
  expect(await balance()).toMatchObject({
    posted: before.posted,
    pendingDebits: before.pendingDebits,
  });
});

it('the incident: "failed" for a payout it executed, with a code not on the list, is queried, found paid, posted once', async () => {
  fault('lie-failed:SYSTEM_BUSY');
  const before = await balance();
  const { handle } = await payout(30_000n);
  expect(await handle.result()).toBe('SUCCEEDED');
  expect((await balance()).posted).toBe(before.posted - 30_000n);
  const { attempts } = await handle.query(reviewEvidenceQuery);
  expect(attempts.filter((a) => a.action === 'submit')).toHaveLength(1); // never resent
  expect(attempts[0].outcome.kind).toBe('unknown');
});

it('voids when the query confirms the gateway never received it', async () => {
  fault('timeout-no-execute');
  const before = await balance();
  const { handle } = await payout(40_000n);
  expect(await handle.result()).toBe('FAILED');
  expect((await balance()).posted).toBe(before.posted);
});

it("stops in MANUAL_REVIEW when it stays unknown, and an operator's decision posts it with their name on it", async () => {
  fault('error-5xx-after-execute');
  const before = await balance();
  const { handle } = await payout(50_000n, {
    attempts: 3,
    initialIntervalMs: 1_000,
    maxIntervalMs: 1_000,
  });
  await untilEvidence(handle, (e) => e.attempts.length >= 1);
  await world.simulator.startOutage('503');
  await untilEvidence(handle, (e) => e.state === 'MANUAL_REVIEW');
  // still held, not paid twice, not released
  expect((await balance()).pendingDebits - before.pendingDebits).toBe(50_000n);
  await expect(
    resolveReview(db.pool, handle, {
      decision: 'paid',
      reason: 'bank confirms the credit',
      operator: 'op-7',
    }),
  ).resolves.toBe('SUCCEEDED');
  expect(await balance()).toMatchObject({
    posted: before.posted - 50_000n,
    pendingDebits: before.pendingDebits,
  });
  const { rows } = await db.pool.query(
    `SELECT metadata FROM ledger_transactions WHERE idempotency_key LIKE 'payout:%:post' ORDER BY id DESC LIMIT 1`,
  );
  expect(rows[0].metadata).toMatchObject({
    decidedBy: 'operator:op-7',
    reason: 'bank confirms the credit',
    decision: 'paid',
  });
  await maybeRecordHistory(handle, 'payoutWorkflow-manual-review');
}, 60_000);

it('POST /v1/investors/{id}/withdrawals holds the money at once and refuses more than is available', async () => {
  const auth = { authorization: `Bearer ${investorKey}` };
  const bankAccountId = await addVerifiedBankAccount(api.app, world.env.client, db, {
    partyId: 'pat',
    ...auth,
    account: ACCOUNT,
  });
  const before = await balance();
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/investors/pat/withdrawals',
    headers: { ...auth, 'idempotency-key': 'wd-1' },
    payload: { amount: '12.34', bankAccountId },
  });
  expect(res.statusCode).toBe(202);
  expect(res.json()).toMatchObject({ status: 'HELD' });
  expect((await balance()).available).toBe(before.available - 1_234n);
  const tooMuch = await api.app.inject({
    method: 'POST',
    url: '/v1/investors/pat/withdrawals',
    headers: { ...auth, 'idempotency-key': 'wd-2' },
    payload: { amount: '99999999.00', bankAccountId },
  });
  expect(tooMuch.statusCode).toBe(409);
  expect(tooMuch.json().error.code).toBe('INSUFFICIENT_FUNDS');
  const { rows } = await db.pool.query(
    `SELECT count(*)::int AS n FROM payouts WHERE purpose = 'withdrawal' AND id LIKE 'wd_%'`,
  );
  expect(rows[0].n).toBe(1);
  // Leave nothing held for afterEach: the dispatcher would start this one; release it here.
  const { payoutId } = res.json();
  await db.pool.query('DELETE FROM outbox');
  const payoutRow = await getPayout(db.pool, payoutId);
  await new Ledger(db.pool).voidPending({
    idempotencyKey: `payout:${payoutId}:void`,
    pendingId: payoutRow!.holdTransactionId,
  });
});

describe('manual reviews through the API', () => {
  it('lists a pending review with its evidence, refuses what cannot be resolved, and resolves with the operator recorded', async () => {
    const app = await buildApp({
      pool: db.pool,
      adminApiKey: ADMIN_KEY,
      temporal: world.env.client,
    });
    try {
      const operator = { authorization: `Bearer ${await api.operatorKey()}` };
      // Still querying: there is nothing to resolve yet, and the workflow says so.
      fault('processing-then-success');
      const querying = await payout(5_000n, {
        attempts: 2,
        initialIntervalMs: 3_000,
        maxIntervalMs: 3_000,
      });
      const early = await app.inject({
        method: 'POST',
        url: `/v1/reviews/payout-${querying.id}/resolve`,
        headers: operator,
        payload: { decision: 'paid', reason: 'too early' },
      });
      expect(early.statusCode).toBe(409);
      expect(early.json().error.code).toBe('REVIEW_REFUSED');
      expect(await querying.handle.result()).toBe('SUCCEEDED');
      await world.reset();

      fault('error-5xx-after-execute');
      const { id, handle } = await payout(6_000n, {
        attempts: 2,
        initialIntervalMs: 1_000,
        maxIntervalMs: 1_000,
      });
      await untilEvidence(handle, (e) => e.attempts.length >= 1);
      await world.simulator.startOutage('503');
      let listed: { workflowId: string; kind: string; evidence: { attempts: unknown[] } }[] = [];
      for (
        let i = 0;
        i < 100 && !listed.some((r) => r.workflowId === workflowIds.payout(id));
        i++
      ) {
        await new Promise((r) => setTimeout(r, 100));
        listed = (
          await app.inject({ method: 'GET', url: '/v1/reviews', headers: operator })
        ).json();
      }
      const mine = listed.find((r) => r.workflowId === workflowIds.payout(id));
      expect(mine).toMatchObject({ kind: 'payoutWorkflow' });
      expect(mine?.evidence.attempts.length).toBe(3);
      const investor = { authorization: `Bearer ${investorKey}` };
      expect(
        (await app.inject({ method: 'GET', url: '/v1/reviews', headers: investor })).statusCode,
      ).toBe(403);
      const resolved = await app.inject({
        method: 'POST',
        url: `/v1/reviews/payout-${id}/resolve`,
        headers: operator,
        payload: { decision: 'paid', reason: 'bank confirms the credit' },
      });
      expect(resolved.json()).toEqual({ workflowId: workflowIds.payout(id), state: 'SUCCEEDED' });
      // The owner sees the payout with every attempt; another investor does not see it at all.
      const seen = (
        await app.inject({ method: 'GET', url: `/v1/payouts/${id}`, headers: investor })
      ).json();
      expect(seen).toMatchObject({ status: 'SUCCEEDED', amount: '60.00', state: 'SUCCEEDED' });
      expect(seen.attempts.map((a: { action: string }) => a.action)).toEqual([
        'submit',
        'query',
        'query',
      ]);
      const stranger = { authorization: `Bearer ${await api.partyKey('investor', 'stranger')}` };
      expect(
        (await app.inject({ method: 'GET', url: `/v1/payouts/${id}`, headers: stranger }))
          .statusCode,
      ).toBe(404);
      const { rows } = await db.pool.query(
        `SELECT metadata FROM ledger_transactions WHERE idempotency_key = $1`,
        [`payout:${id}:post`],
      );
      expect(rows[0].metadata.decidedBy).toMatch(/^operator:[a-f0-9]{16}$/);
      // The decision is in the audit trail, written in the transaction that posted it.
      const { rows: audit } = await db.pool.query(
        `SELECT actor, reason, request_id FROM audit_log WHERE action = 'review.resolved' AND subject = $1`,
        [workflowIds.payout(id)],
      );
      expect(audit).toEqual([
        {
          actor: rows[0].metadata.decidedBy,
          reason: 'bank confirms the credit',
          request_id: expect.any(String),
        },
      ]);
      const bad = await app.inject({
        method: 'POST',
        url: `/v1/reviews/${encodeURIComponent("payout-x'; --")}/resolve`,
        headers: operator,
        payload: { decision: 'paid', reason: 'xyz' },
      });
      expect(bad.statusCode).toBe(422);
    } finally {
      await app.close();
    }
  }, 60_000);
});

describe('gateway notifications', () => {
  const notice = (orderNo: string, fields: Record<string, unknown> = {}) => ({
    notifyId: `n-${orderNo}-${Math.random().toString(36).slice(2)}`,
    orderNo,
    kind: 'PAYOUT',
    status: 'SUCCESS',
    amount: '70.00',
    currency: 'CNY',
    gatewayTradeNo: `gt-${orderNo}`,
    eventSeq: 1,
    eventTime: new Date().toISOString(),
    ...fields,
  });
  const post = (app: FastifyInstance, body: object, secret = SECRET) => {
    const raw = JSON.stringify(body);
    const timestamp = unixSeconds(Date.now());
    return app.inject({
      method: 'POST',
      url: '/v1/gateway/notifications',
      payload: raw,
      headers: {
        'content-type': 'application/json',
        'x-gateway-timestamp': timestamp,
        'x-gateway-signature': signNotification(secret, timestamp, raw),
      },
    });
  };

  it('moves money only on a verified notice: forged, status 0, wrong amount are refused and counted; the true one ends the wait', async () => {
    const app = await buildApp({
      pool: db.pool,
      adminApiKey: ADMIN_KEY,
      temporal: world.env.client,
      gatewaySecret: SECRET,
    });
    try {
      fault('error-5xx-after-execute'); // executed, but the answer is a 5xx: unknown
      const before = await balance();
      const { id, handle } = await payout(7_000n, {
        attempts: 2,
        initialIntervalMs: 20_000,
        maxIntervalMs: 20_000,
      });
      await untilEvidence(handle, (e) => e.state === 'QUERYING');

      const forged = await post(app, notice(id), 'not-the-secret');
      expect(forged.statusCode).toBe(401);
      const statusZero = await post(app, notice(id, { status: '0' })); // the && / || incident
      expect(statusZero.statusCode).toBe(422);
      expect(statusZero.json().error.code).toBe('NOTIFICATION_STATUS_NOT_SUCCESS');
      const wrongAmount = await post(app, notice(id, { amount: '7000.00' }));
      expect(wrongAmount.json().error.code).toBe('NOTIFICATION_AMOUNT_MISMATCH');
      const unknownOrder = await post(app, notice('no-such-order'));
      expect(unknownOrder.statusCode).toBe(422);
      expect((await handle.query(reviewEvidenceQuery)).state).toBe('QUERYING'); // nothing moved
      expect((await balance()).posted).toBe(before.posted);

      const good = notice(id);
      expect((await post(app, good)).statusCode).toBe(200);
      expect((await post(app, good)).statusCode).toBe(200); // a duplicate: acknowledged, no effect
      expect(await handle.result()).toBe('SUCCEEDED');
      expect((await balance()).posted).toBe(before.posted - 7_000n);
      const { attempts } = await handle.query(reviewEvidenceQuery);
      expect(attempts.map((a) => a.action)).toEqual(['submit', 'notice']); // no 20 s query wait
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      for (const reason of [
        'BAD_SIGNATURE',
        'STATUS_NOT_SUCCESS',
        'AMOUNT_MISMATCH',
        'UNKNOWN_ORDER',
      ]) {
        expect(metrics).toMatch(
          new RegExp(`gateway_notifications_total\\{result="${reason}"\\} 1`),
        );
      }
      expect(metrics).toMatch(/gateway_notifications_total\{result="SUCCESS"\} 1/);
      // counted as such, not as SUCCESS
      expect(metrics).toMatch(/gateway_notifications_total\{result="DUPLICATE"\} 1/);
    } finally {
      await app.close();
    }
  }, 60_000);
});
