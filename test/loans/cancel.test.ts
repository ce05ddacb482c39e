// CANCELLED: an investor takes a reservation back while the loan is open. The subscription's own
// workflow decides (started by the request if the dispatcher has not yet), the money and the
// loan's remaining amount return together, and once the loan has decided nothing can be taken back.
import type { FastifyInstance } from 'fastify';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { buildApp } from '../../api/app';
import { Ledger } from '../../ledger';
import { cancelSubscription, decideLoan, getSubscription } from '../../loans/store';
import { OutboxDispatcher } from '../../worker/outbox-dispatcher';
import { loanStateQuery } from '../../workflows/contracts/loan';
import { ADMIN_KEY } from '../api/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { createWorker, drainOutbox, fundInvestor, maybeRecordHistory } from '../helpers/stack';
import { createDevServerEnv } from '../helpers/temporal';
import { expectLedgerConsistent } from '../ledger/helpers';
import { until } from '../repayments/helpers';
import { workflowIds } from '../../ids/workflow-ids';

let env: TestWorkflowEnvironment;
let worker: Worker;
let workerRun: Promise<void>;
let app: FastifyInstance;
afterAll(async () => {
  await app?.close();
  worker?.shutdown();
  await workerRun;
  await env?.teardown();
});
const db = useTestDatabase();
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const keys: Record<string, { authorization: string }> = {};

beforeAll(async () => {
  env = await createDevServerEnv();
  worker = await createWorker(env, db);
  workerRun = worker.run();
  app = await buildApp({ pool: db.pool, adminApiKey: ADMIN_KEY, temporal: env.client });
  await app.ready();
  for (const [kind, id] of [
    ['borrower', 'acme'],
    ['investor', 'alice'],
    ['investor', 'bob'],
    ['investor', 'carol'],
    ['investor', 'dave'],
  ]) {
    await app.inject({
      method: 'POST',
      url: `/v1/${kind}s`,
      headers: { ...admin, 'idempotency-key': `p-${id}` },
      payload: { id, name: id },
    });
    keys[id] = {
      authorization: `Bearer ${(await app.inject({ method: 'POST', url: '/v1/api-keys', headers: admin, payload: { role: `${kind}:${id}` } })).json().key}`,
    };
    if (kind === 'investor') await fundInvestor(db, id, 500_000n);
  }
});
afterEach(() => expectLedgerConsistent(db.pool));

const openLoan = (id: string, principal: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/loans',
    headers: { ...admin, 'idempotency-key': workflowIds.loan(id) },
    payload: {
      id,
      borrowerId: 'acme',
      principal,
      annualRate: '0.1',
      termMonths: 2,
      repaymentMethod: 'equal_principal',
      subscriptionDeadline: new Date(Date.now() + 600_000).toISOString(),
    },
  });
const subscribe = async (loanId: string, who: string, amount: string) => {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/loans/${loanId}/subscriptions`,
    headers: { ...keys[who], 'idempotency-key': `s-${loanId}-${who}` },
    payload: { investorId: who, amount },
  });
  expect(res.statusCode).toBe(201);
  return res.json().subscriptionId as string;
};
const remaining = async (loanId: string) =>
  (await db.pool.query('SELECT remaining_minor::text AS r FROM loans WHERE id = $1', [loanId]))
    .rows[0].r;
const available = async (who: string) =>
  (await new Ledger(db.pool).balance(`investor:${who}:available`)).available;

it("returns the money and the loan's room together, and the loan then fills with someone else", async () => {
  expect((await openLoan('cx1', '3000.00')).statusCode).toBe(201);
  const alices = await subscribe('cx1', 'alice', '1000.00');
  await subscribe('cx1', 'bob', '2000.00');
  expect(await remaining('cx1')).toBe('0');
  expect(await available('alice')).toBe(400_000n);

  // Only the owner may ask; the reservation's workflow (not started yet) is started by the request.
  expect(
    (
      await app.inject({
        method: 'POST',
        url: `/v1/subscriptions/${alices}/cancel`,
        headers: keys.bob,
      })
    ).statusCode,
  ).toBe(404);
  const cancelKeyed = () =>
    app.inject({
      method: 'POST',
      url: `/v1/subscriptions/${alices}/cancel`,
      headers: { ...keys.alice, 'idempotency-key': `cancel-${alices}` },
    });
  const cancel = await cancelKeyed();
  expect(cancel.statusCode).toBe(202);
  expect(cancel.json()).toMatchObject({
    status: 'CANCEL_REQUESTED',
    workflowId: workflowIds.subscription(alices),
  });
  const handle = env.client.workflow.getHandle(workflowIds.subscription(alices));
  expect(await handle.result()).toBe('CANCELLED');
  expect(await remaining('cx1')).toBe('100000');
  expect(await available('alice')).toBe(500_000n);
  // A retry under its key (the answer lost) replays it; without a key, the subscription is
  // cancelled already.
  const retried = await cancelKeyed();
  expect({
    status: retried.statusCode,
    body: retried.json(),
    replayed: retried.headers['idempotency-replayed'],
  }).toEqual({ status: 202, body: cancel.json(), replayed: 'true' });
  const again = await app.inject({
    method: 'POST',
    url: `/v1/subscriptions/${alices}/cancel`,
    headers: keys.alice,
  });
  expect(again.statusCode).toBe(409);
  expect(again.json().error.code).toBe('SUBSCRIPTION_NOT_CANCELLABLE');
  const { rows: cancels } = await db.pool.query(
    `SELECT 1 FROM operator_decisions WHERE workflow_id = $1 AND kind = 'subscription.cancel'`,
    [workflowIds.subscription(alices)],
  );
  expect(cancels).toHaveLength(1);

  // The loan was signalled "fully reserved" before the cancel; it finds room again and waits for
  // Carol.
  const dispatcher = new OutboxDispatcher(db.pool, env.client);
  await drainOutbox(dispatcher, db);
  const loan = env.client.workflow.getHandle('loan-cx1');
  expect(await loan.query(loanStateQuery)).toBe('OPEN');
  await subscribe('cx1', 'carol', '1000.00');
  await drainOutbox(dispatcher, db);
  await until(
    () => loan.query(loanStateQuery),
    (s) => s === 'REPAYING',
    30_000,
  );
  const { rows } = await db.pool.query(
    `SELECT investor_id, status FROM subscriptions WHERE loan_id = 'cx1' ORDER BY investor_id`,
  );
  expect(rows).toEqual([
    { investor_id: 'alice', status: 'CANCELLED' },
    { investor_id: 'bob', status: 'CONFIRMED' },
    { investor_id: 'carol', status: 'CONFIRMED' },
  ]);
  expect((await new Ledger(db.pool).balance('borrower:acme:available')).posted).toBe(300_000n);
  await maybeRecordHistory(handle, 'subscriptionWorkflow-cancelled');
}, 60_000);

it('once the loan has decided, a cancel changes nothing, through the API or behind it', async () => {
  expect((await openLoan('cx2', '1000.00')).statusCode).toBe(201);
  const daves = await subscribe('cx2', 'dave', '1000.00');
  expect(await decideLoan(db.pool, 'cx2', false)).toBe('FUNDED');
  const before = await available('dave');
  const res = await app.inject({
    method: 'POST',
    url: `/v1/subscriptions/${daves}/cancel`,
    headers: keys.dave,
  });
  expect(res.statusCode).toBe(409);
  expect(res.json().error.code).toBe('LOAN_NOT_OPEN');
  // The workflow's activity, racing the decision, is refused the same way and rolls its void back.
  expect(await cancelSubscription(db.pool, daves)).toBe('RESERVED');
  expect((await getSubscription(db.pool, daves))?.status).toBe('RESERVED');
  expect(await available('dave')).toBe(before);
  expect(await remaining('cx2')).toBe('0');
});
