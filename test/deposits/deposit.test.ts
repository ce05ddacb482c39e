// Deposits end to end: the Deposit workflow on a real Temporal dev server collects through the
// real gateway simulator (with injected faults) and credits the ledger only on verified success.
// After each test the ledger equals the simulator's truth.
import { Ledger } from '../../ledger';
import { createDeposit, getDeposit } from '../../payments/deposits';
import { depositWorkflow } from '../../workflows';
import { SearchAttributes, TASK_QUEUE } from '../../workflows/contracts/common';
import { reviewEvidenceQuery } from '../../workflows/contracts/gateway-order';
import { ADMIN_KEY, useTestApi } from '../api/helpers';
import { ACCOUNT } from '../gateway/helpers';
import { expectLedgerBooksExecuted, GatewayWorld, untilEvidence } from '../helpers/gateway-world';
import { useTestDatabase } from '../helpers/postgres';
import { maybeRecordHistory } from '../helpers/stack';
import { addVerifiedBankAccount } from '../helpers/bank-accounts';
import { expectLedgerConsistent } from '../ledger/helpers';
import { resolveReview } from '../helpers/decisions';
import { workflowIds } from '../../ids/workflow-ids';
import { accountOnFile } from '../helpers/bank-accounts';

const world = new GatewayWorld();
// before the database's hooks: the worker stops before its pool closes
afterAll(() => world.stop());
const db = useTestDatabase();
const api = useTestApi(db);

beforeAll(async () => {
  await world.start(db);
  await api.partyKey('investor', 'ann');
});

afterEach(async () => {
  await world.reset();
  await expectLedgerConsistent(db.pool);
  // The ledger equals the gateway's truth: every executed collection credited exactly once, nothing
  // else.
  await expectLedgerBooksExecuted(world, db, 'COLLECTION', 'deposit:%');
});

const fault = (spec: string) => world.fault(spec);
let n = 0;

const FAST_QUERIES = { attempts: 3, initialIntervalMs: 200, maxIntervalMs: 400 };

async function deposit(amountMinor: bigint, queryPolicy = FAST_QUERIES) {
  n += 1;
  const id = `dep-${n}-${Date.now().toString(36)}`;
  await createDeposit(db.pool, {
    id,
    investorId: 'ann',
    amountMinor,
    currency: 'CNY',
    bankAccountId: await accountOnFile(db.pool, 'ann', ACCOUNT),
  });
  // started here with a short query policy instead of by the dispatcher
  await db.pool.query('DELETE FROM outbox');
  const handle = await world.env.client.workflow.start(depositWorkflow, {
    workflowId: workflowIds.deposit(id),
    taskQueue: TASK_QUEUE,
    args: [{ depositId: id, investorId: 'ann', queryPolicy }],
  });
  return { id, handle };
}

const balance = async () => (await new Ledger(db.pool).balance('investor:ann:available')).posted;

it('credits a successful collection once', async () => {
  const before = await balance();
  const { id, handle } = await deposit(50_000n);
  expect(await handle.result()).toBe('SUCCEEDED');
  expect(await balance()).toBe(before + 50_000n);
  expect((await getDeposit(db.pool, id))?.status).toBe('SUCCEEDED');
  await maybeRecordHistory(handle, 'depositWorkflow-succeeded');
});

it('ends FAILED on a listed definitive failure and credits nothing', async () => {
  fault('fail:INSUFFICIENT_FUNDS');
  const before = await balance();
  const { handle } = await deposit(10_000n);
  expect(await handle.result()).toBe('FAILED');
  expect(await balance()).toBe(before);
  const evidence = await handle.query(reviewEvidenceQuery);
  expect(evidence.attempts.map((a) => a.outcome)).toEqual([
    { kind: 'failed', code: 'INSUFFICIENT_FUNDS' },
  ]);
});

it('queries after a timeout instead of resending, finds the money arrived, credits once', async () => {
  fault('timeout-then-execute');
  const before = await balance();
  const { handle } = await deposit(20_000n);
  expect(await handle.result()).toBe('SUCCEEDED');
  expect(await balance()).toBe(before + 20_000n);
  const { attempts } = await handle.query(reviewEvidenceQuery);
  expect(attempts.filter((a) => a.action === 'submit')).toHaveLength(1);
  expect(attempts[0].outcome.kind).toBe('unknown');
  expect(attempts.at(-1)).toMatchObject({ action: 'query', outcome: { kind: 'succeeded' } });
});

it('ends FAILED when the query confirms the gateway never received it', async () => {
  fault('timeout-no-execute');
  const before = await balance();
  const { handle } = await deposit(30_000n);
  expect(await handle.result()).toBe('FAILED');
  expect(await balance()).toBe(before);
});

it('stops in MANUAL_REVIEW while the outcome stays unknown; an operator resolves it through the update', async () => {
  // The gateway takes the money but answers 5xx, then every query meets an outage.
  fault('error-5xx-after-execute');
  const before = await balance();
  const { handle } = await deposit(40_000n, {
    attempts: 3,
    initialIntervalMs: 1_000,
    maxIntervalMs: 1_000,
  });
  await untilEvidence(handle, (e) => e.attempts.length >= 1);
  await world.simulator.startOutage('503');
  await untilEvidence(handle, (e) => e.state === 'MANUAL_REVIEW');
  const evidence = await handle.query(reviewEvidenceQuery);
  expect(evidence.state).toBe('MANUAL_REVIEW');
  expect(evidence.attempts.length).toBe(4); // one submit, three queries
  // Operators find it in the Web UI with: ReviewState = "Pending".
  const reviewState = async () =>
    (await handle.describe()).typedSearchAttributes.get(SearchAttributes.ReviewState);
  for (let i = 0; i < 50 && (await reviewState()) !== 'Pending'; i++)
    await new Promise((r) => setTimeout(r, 50));
  expect(await reviewState()).toBe('Pending');
  // The workflow refuses a decision without a reason (once it has read it); nothing changes.
  await expect(resolveReview(db.pool, handle, { decision: 'paid', reason: ' ' })).rejects.toThrow();
  expect(await balance()).toBe(before);
  // The operator checked with the bank: the money is there.
  await expect(
    resolveReview(db.pool, handle, {
      decision: 'paid',
      reason: 'bank statement shows the debit',
      operator: 'op-1',
    }),
  ).resolves.toBe('SUCCEEDED');
  expect(await handle.result()).toBe('SUCCEEDED');
  expect(await balance()).toBe(before + 40_000n);
  const { rows } = await db.pool.query(
    `SELECT metadata FROM ledger_transactions WHERE idempotency_key LIKE 'deposit:%' ORDER BY id DESC LIMIT 1`,
  );
  expect(rows[0].metadata).toMatchObject({
    decidedBy: 'operator:op-1',
    reason: 'bank statement shows the debit',
    decision: 'paid',
  });
  expect(await reviewState()).toBe('Resolved');
  // A second decision is refused: there is nothing left to resolve.
  await expect(
    resolveReview(db.pool, handle, { decision: 'not_paid', reason: 'again' }),
  ).rejects.toThrow();
  await maybeRecordHistory(handle, 'depositWorkflow-manual-review');
}, 60_000);

it('POST /v1/investors/{id}/deposits records the deposit and its workflow start together', async () => {
  const key = await api.partyKey('investor', 'bea');
  const bankAccountId = await addVerifiedBankAccount(api.app, world.env.client, db, {
    partyId: 'bea',
    authorization: `Bearer ${key}`,
    account: ACCOUNT,
  });
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/investors/bea/deposits',
    headers: { authorization: `Bearer ${key}`, 'idempotency-key': 'dep-1' },
    payload: { amount: '100.00', bankAccountId },
  });
  expect(res.statusCode).toBe(202);
  const { depositId, workflowId } = res.json();
  const { rows } = await db.pool.query('SELECT workflow_type FROM outbox WHERE workflow_id = $1', [
    workflowId,
  ]);
  expect(rows).toEqual([{ workflow_type: 'depositWorkflow' }]);
  expect((await getDeposit(db.pool, depositId))?.amountMinor).toBe(10_000n);
  const other = await api.app.inject({
    method: 'POST',
    url: '/v1/investors/ann/deposits',
    headers: { authorization: `Bearer ${key}`, 'idempotency-key': 'dep-2' },
    payload: { amount: '1.00', bankAccountId },
  });
  expect(other.statusCode).toBe(404);
  const bad = await api.app.inject({
    method: 'POST',
    url: '/v1/investors/bea/deposits',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'idempotency-key': 'dep-3' },
    payload: { amount: '1e3', bankAccountId },
  });
  expect(bad.json().error.code).toBe('AMOUNT_EXPONENT');
  await db.pool.query('DELETE FROM outbox');
});
