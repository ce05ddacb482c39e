// Loans and subscriptions end to end: the API reserves in Postgres, the dispatcher starts the
// workflows on a real Temporal dev server, the loan closes at exactly its target and the money
// moves; an expired loan refunds everyone. Invariants are read from the ledger.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { Ledger } from '../../ledger';
import { OutboxDispatcher } from '../../worker/outbox-dispatcher';
import { loanWorkflow, subscriptionWorkflow } from '../../workflows';
import { SearchAttributes } from '../../workflows/contracts/common';
import { loanStateQuery } from '../../workflows/contracts/loan';
import type { WorkflowHandle } from '@temporalio/client';
import { expectLedgerConsistent } from '../ledger/helpers';
import { ADMIN_KEY, useTestApi } from '../api/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { createWorker, drainOutbox, fundInvestor, maybeRecordHistory } from '../helpers/stack';
import { createDevServerEnv } from '../helpers/temporal';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { ACCOUNT, clientFor, startTestSimulator, tempDir } from '../gateway/helpers';
import { workflowIds } from '../../ids/workflow-ids';
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';

let env: TestWorkflowEnvironment;
let worker: Worker;
let workerRun: Promise<void>;
let dispatcher: OutboxDispatcher;
let simulator: RunningSimulator;
const simulatorDir = tempDir();
// Declared before the database's hooks: jest runs afterAll hooks in declaration order, and the
// worker must stop before the pool it uses is closed.
afterAll(async () => {
  worker?.shutdown();
  await workerRun;
  await env?.teardown();
  await simulator?.close();
  simulatorDir.remove();
});
const db = useTestDatabase({ poolSize: 20 });
const api = useTestApi(db);
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

beforeAll(async () => {
  simulator = await startTestSimulator({ dataDir: simulatorDir.path });
  env = await createDevServerEnv();
  worker = await createWorker(env, db, clientFor(simulator.url));
  workerRun = worker.run();
  dispatcher = new OutboxDispatcher(db.pool, env.client);
});
afterEach(async () => {
  await expectLedgerConsistent(db.pool);
});

async function openLoan(id: string, principal: string, deadlineInMs: number) {
  await api.app.inject({
    method: 'POST',
    url: '/v1/borrowers',
    headers: { ...admin, 'idempotency-key': `b-${id}` },
    payload: { id: `bor-${id}`, name: 'Borrower' },
  });
  // where the disbursement goes: a verified account on file (no penny test at the gateway)
  await putVerifiedAccountOnFile(db.pool, `bor-${id}`, ACCOUNT);
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/loans',
    headers: { ...admin, 'idempotency-key': workflowIds.loan(id) },
    payload: {
      id,
      borrowerId: `bor-${id}`,
      principal,
      annualRate: '0.08',
      termMonths: 3,
      repaymentMethod: 'equal_installment',
      subscriptionDeadline: new Date(Date.now() + deadlineInMs).toISOString(),
      feeRate: '0.01',
    },
  });
  expect(res.statusCode).toBe(201);
  return res.json<{ loanId: string; workflowId: string }>();
}

async function investors(prefix: string, n: number, fundsMinor: bigint) {
  const keys: { id: string; auth: { authorization: string } }[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}-${i}`;
    const key = await api.partyKey('investor', id);
    await fundInvestor(db, id, fundsMinor);
    keys.push({ id, auth: { authorization: `Bearer ${key}` } });
  }
  return keys;
}

async function untilLoanState(handle: WorkflowHandle, state: string): Promise<void> {
  for (let i = 0; i < 600 && (await handle.query(loanStateQuery)) !== state; i++)
    await new Promise((r) => setTimeout(r, 50));
  expect(await handle.query(loanStateQuery)).toBe(state);
}

const subscribe = (
  loanId: string,
  inv: { id: string; auth: object },
  amount: string,
  key: string,
) =>
  api.app.inject({
    method: 'POST',
    url: `/v1/loans/${loanId}/subscriptions`,
    headers: { ...inv.auth, 'idempotency-key': key },
    payload: { investorId: inv.id, amount },
  });

it('fills a loan exactly from concurrent subscriptions, then confirms, disburses and reaches REPAYING', async () => {
  const { loanId, workflowId } = await openLoan('rush1', '10000.00', 120_000);
  const people = await investors('r1', 25, 100_000n);
  const results = await Promise.all(
    people.map((p) => subscribe(loanId, p, '500.00', `sub-${p.id}`)),
  );
  const accepted = results.filter((r) => r.statusCode === 201);
  const refused = results.filter((r) => r.statusCode !== 201);
  expect(accepted).toHaveLength(20);
  for (const r of refused)
    expect(r.json().error).toMatchObject({ code: 'LOAN_FULL', details: { remaining: '0.00' } });

  const loan = (
    await api.app.inject({ method: 'GET', url: `/v1/loans/${loanId}`, headers: admin })
  ).json();
  expect(loan).toMatchObject({
    status: 'OPEN',
    subscribed: '10000.00',
    remaining: '0.00',
    principal: '10000.00',
  });
  expect(loan.schedule).toHaveLength(3);

  await drainOutbox(dispatcher, db);
  const handle = env.client.workflow.getHandle(workflowId);
  await untilLoanState(handle, 'REPAYING'); // it stays there, waiting for the first due date
  const subIds = accepted.map((r) => r.json().subscriptionId as string);
  const states = await Promise.all(
    subIds.map((id) => env.client.workflow.getHandle(workflowIds.subscription(id)).result()),
  );
  expect(new Set(states)).toEqual(new Set(['CONFIRMED']));

  const ledger = new Ledger(db.pool);
  expect((await ledger.balance(`loan:${loanId}:escrow`)).posted).toBe(0n);
  expect((await ledger.balance('platform:fees')).posted).toBe(10_000n); // the 1% fee
  // The borrower's 9,900.00 went out to their bank account by a Payout workflow, exactly once.
  expect(await env.client.workflow.getHandle(`payout-disb-${loanId}`).result()).toBe('SUCCEEDED');
  expect((await ledger.balance('borrower:bor-rush1:available')).posted).toBe(0n);
  const paid = simulator.truth().filter((o) => o.kind === 'PAYOUT' && o.status === 'SUCCESS');
  expect(paid.map((o) => [o.orderNo, o.amountMinor])).toEqual([[`disb-${loanId}`, 990_000n]]);
  const inv = await ledger.balance('investor:r1-0:available');
  expect(inv.pendingDebits).toBe(0n);
  const { rows } = await db.pool.query(
    `SELECT sum(amount_minor)::text AS total, count(*)::int AS n FROM subscriptions WHERE loan_id = $1 AND status = 'CONFIRMED'`,
    [loanId],
  );
  expect(rows[0]).toEqual({ total: '1000000', n: 20 });
  await maybeRecordHistory(
    env.client.workflow.getHandle(workflowIds.subscription(subIds[0])),
    'subscriptionWorkflow-confirmed',
  );
});

it('expires a loan that is not filled by its deadline and refunds every reservation', async () => {
  const { loanId, workflowId } = await openLoan('exp1', '10000.00', 4_000);
  const people = await investors('e1', 3, 100_000n);
  for (const p of people)
    expect((await subscribe(loanId, p, '1000.00', `sub-${p.id}`)).statusCode).toBe(201);
  expect((await new Ledger(db.pool).balance('investor:e1-0:available')).available).toBe(0n);
  await drainOutbox(dispatcher, db);
  expect(await env.client.workflow.getHandle(workflowId).result()).toBe('EXPIRED');
  for (const p of people) {
    expect(await new Ledger(db.pool).balance(`investor:${p.id}:available`)).toMatchObject({
      posted: 100_000n,
      available: 100_000n,
    });
  }
  const late = await subscribe(loanId, people[0], '1.00', 'late');
  expect(late.json().error.code).toBe('LOAN_NOT_OPEN');
  const { rows } = await db.pool.query(`SELECT id FROM subscriptions WHERE loan_id = $1`, [loanId]);
  const refundedHandle = env.client.workflow.getHandle(workflowIds.subscription(rows[0].id));
  expect(await refundedHandle.result()).toBe('REFUNDED');
  await maybeRecordHistory(env.client.workflow.getHandle(workflowId), 'loanWorkflow-expired');
  await maybeRecordHistory(refundedHandle, 'subscriptionWorkflow-refunded');
});

it('survives client retries: the same Idempotency-Key reserves once, another key reserves again', async () => {
  const { loanId } = await openLoan('idem1', '5000.00', 120_000);
  const [p] = await investors('i1', 1, 300_000n);
  const first = await subscribe(loanId, p, '100.00', 'retry-me');
  const retries = await Promise.all(
    [1, 2, 3].map(() => subscribe(loanId, p, '100.00', 'retry-me')),
  );
  for (const r of retries) expect([201, 409]).toContain(r.statusCode);
  const replayed = retries.filter((r) => r.statusCode === 201);
  for (const r of replayed) expect(r.json()).toEqual(first.json());
  const other = await subscribe(loanId, p, '100.00', 'another-key');
  expect(other.json().subscriptionId).not.toBe(first.json().subscriptionId);
  const { rows } = await db.pool.query(
    'SELECT count(*)::int AS n FROM subscriptions WHERE loan_id = $1',
    [loanId],
  );
  expect(rows[0].n).toBe(2);
  expect((await new Ledger(db.pool).balance('investor:i1-0:available')).available).toBe(280_000n);
});

it('leaves nothing orphaned when the dispatcher is down: the reservation waits in the outbox, then starts once', async () => {
  const { loanId } = await openLoan('orph1', '5000.00', 120_000);
  const [p] = await investors('o1', 1, 300_000n);
  const res = await subscribe(loanId, p, '200.00', 'orphan');
  const { subscriptionId } = res.json();
  // No dispatcher has run: the row is there, due at the loan's deadline, and no workflow yet.
  const { rows } = await db.pool.query(
    `SELECT workflow_id, not_before FROM outbox WHERE workflow_id = $1`,
    [workflowIds.subscription(subscriptionId)],
  );
  expect(rows).toHaveLength(1);
  expect(rows[0].not_before.getTime()).toBeGreaterThan(Date.now() + 60_000);
  // The deadline comes (time moves on for this row).
  await db.pool.query('UPDATE outbox SET not_before = now()');
  await expect(
    env.client.workflow.getHandle(workflowIds.subscription(subscriptionId)).describe(),
  ).rejects.toThrow();
  // A dispatcher that dies mid-pass (Temporal unreachable) leaves the rows and backs off.
  const broken = new OutboxDispatcher(db.pool, {
    workflow: {
      start: () => Promise.reject(new Error('connection lost')),
      getHandle: () => ({ signal: () => Promise.reject(new Error('connection lost')) }),
    },
  } as never);
  await broken.drainOnce();
  const { rows: after } = await db.pool.query(
    `SELECT attempts FROM outbox WHERE workflow_id = $1`,
    [workflowIds.subscription(subscriptionId)],
  );
  expect(after[0].attempts).toBe(1);
  await db.pool.query('UPDATE outbox SET not_before = now()');
  // Two dispatchers at once start it once.
  await Promise.all([
    drainOutbox(dispatcher, db),
    drainOutbox(new OutboxDispatcher(db.pool, env.client), db),
  ]);
  const described = await env.client.workflow
    .getHandle(workflowIds.subscription(subscriptionId))
    .describe();
  expect(described.status.name).toBe('RUNNING');
  expect(described.typedSearchAttributes.get(SearchAttributes.InvestorId)).toBe('o1-0');
  expect(described.typedSearchAttributes.get(SearchAttributes.LoanId)).toBe(loanId);
  await expect(
    env.client.workflow
      .getHandle(workflowIds.subscription(subscriptionId))
      .query('subscriptionState'),
  ).resolves.toBe('RESERVED');
  expect(subscriptionWorkflow.name).toBe('subscriptionWorkflow');
  expect(loanWorkflow.name).toBe('loanWorkflow');
});
