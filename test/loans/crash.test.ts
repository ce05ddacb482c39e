// Killing the API, the dispatcher or the worker between a reservation and its workflow's start
// leaves nothing orphaned. The real processes run on this file's schema; each is SIGKILLed in the
// middle of the rush and started again. Clients retry with the same Idempotency-Key, as they must.
// At the end every reservation the database holds is one a client was told about, every one has
// its workflow and is CONFIRMED, the loan is exactly full, and the trial balance is zero.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Ledger } from '../../ledger';
import { loanStateQuery } from '../../workflows/contracts/loan';
import { ADMIN_KEY } from '../api/helpers';
import { useTestDatabase } from '../helpers/postgres';
import {
  freePort,
  processDatabaseUrl,
  startProcess,
  type RunningProcess,
} from '../helpers/processes';
import { fundInvestor } from '../helpers/stack';
import { createDevServerEnv } from '../helpers/temporal';
import { expectLedgerConsistent } from '../ledger/helpers';
import { until } from '../repayments/helpers';
import { workflowIds } from '../../ids/workflow-ids';

let env: TestWorkflowEnvironment;
const running: RunningProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.kill();
  await env?.teardown();
});
const db = useTestDatabase();
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
let port: number;

beforeAll(async () => {
  env = await createDevServerEnv();
  port = await freePort();
});

const processEnv = () => ({
  DATABASE_URL: processDatabaseUrl(db),
  TEMPORAL_ADDRESS: env.address,
  TEMPORAL_NAMESPACE: 'default',
  ADMIN_API_KEY: ADMIN_KEY,
  API_PORT: String(port),
  GATEWAY_URL: 'http://127.0.0.1:9',
  GATEWAY_SECRET: 'unused-in-this-test-0123456789',
});
async function start(kind: 'api' | 'worker' | 'dispatcher'): Promise<RunningProcess> {
  const p = await startProcess(kind, processEnv());
  running.push(p);
  return p;
}

/** One HTTP call to the API process; a refused or reset connection is reported as status 0. */
async function call(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return { status: 0, body: {} };
  }
}

/** Requests that found the API dead (refused, reset): each was retried with its key. */
let unanswered = 0;

/** Retries with the same Idempotency-Key until the API answers (it may be down for a while). */
async function untilAnswered(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
) {
  for (let i = 0; i < 300; i++) {
    const res = await call(method, path, headers, body);
    if (res.status === 0) unanswered += 1;
    if (
      (res.status !== 0 && res.status !== 409) ||
      (res.body.error && (res.body.error as { code: string }).code !== 'IDEMPOTENCY_KEY_IN_USE')
    )
      return res;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${method} ${path}: no answer`);
}

it('kills the API, the dispatcher and the worker mid-rush: every reservation answered, started, confirmed once', async () => {
  let api = await start('api');
  const dispatcher = await start('dispatcher');
  const INVESTORS = 30;
  await untilAnswered(
    'POST',
    '/v1/borrowers',
    { ...admin, 'idempotency-key': 'b' },
    { id: 'acme', name: 'Acme' },
  );
  const loan = await untilAnswered(
    'POST',
    '/v1/loans',
    { ...admin, 'idempotency-key': 'l' },
    {
      id: 'ch1',
      borrowerId: 'acme',
      principal: '2000.00',
      annualRate: '0.1',
      termMonths: 2,
      repaymentMethod: 'equal_principal',
      subscriptionDeadline: new Date(Date.now() + 600_000).toISOString(),
    },
  );
  expect(loan.status).toBe(201);
  const keys: string[] = [];
  for (let i = 0; i < INVESTORS; i++) {
    await untilAnswered(
      'POST',
      '/v1/investors',
      { ...admin, 'idempotency-key': `i${i}` },
      { id: `inv${i}`, name: `Investor ${i}` },
    );
    keys.push(
      (await untilAnswered('POST', '/v1/api-keys', admin, { role: `investor:inv${i}` })).body
        .key as string,
    );
    await fundInvestor(db, `inv${i}`, 100_000n);
  }

  // The rush: 30 investors × 100.00 for a 2,000.00 loan; the API and the dispatcher die in the
  // middle.
  const answers = new Map<string, string>();
  unanswered = 0;
  const rush = Promise.all(
    keys.map(async (key, i) => {
      await new Promise((r) => setTimeout(r, i * 20));
      const res = await untilAnswered(
        'POST',
        '/v1/loans/ch1/subscriptions',
        { authorization: `Bearer ${key}`, 'idempotency-key': `sub-inv${i}` },
        { investorId: `inv${i}`, amount: '100.00' },
      );
      answers.set(
        `inv${i}`,
        res.status === 201
          ? (res.body.subscriptionId as string)
          : (res.body.error as { code: string }).code,
      );
    }),
  );
  await new Promise((r) => setTimeout(r, 150));
  await api.kill();
  await dispatcher.kill();
  api = await start('api');
  await rush;
  expect(unanswered).toBeGreaterThan(0); // the kill did land in the middle of the rush
  const accepted = [...answers.values()].filter((v) => v.startsWith('sub_'));
  expect(accepted).toHaveLength(20);
  expect([...answers.values()].filter((v) => !v.startsWith('sub_'))).toEqual(
    Array(10).fill('LOAN_FULL'),
  );

  // Nothing orphaned: the database holds exactly the reservations the clients were told about.
  const { rows: reserved } = await db.pool.query(
    `SELECT id FROM subscriptions WHERE loan_id = 'ch1' ORDER BY id`,
  );
  expect(reserved.map((r) => r.id)).toEqual([...accepted].sort());

  // The worker dies while confirming; the outbox is drained by a new dispatcher.
  let worker = await start('worker');
  await start('dispatcher');
  const handle = env.client.workflow.getHandle('loan-ch1');
  await until(
    () => handle.query(loanStateQuery).catch(() => 'NOT_STARTED'),
    (s) => s !== 'NOT_STARTED' && s !== 'OPEN',
    60_000,
  );
  await worker.kill();
  worker = await start('worker');
  await until(
    () => handle.query(loanStateQuery),
    (s) => s === 'REPAYING',
    90_000,
  );

  const states = await Promise.all(
    accepted.map((id) => env.client.workflow.getHandle(workflowIds.subscription(id)).result()),
  );
  expect(new Set(states)).toEqual(new Set(['CONFIRMED']));
  const { rows } = await db.pool.query(
    `SELECT status, count(*)::int AS n, sum(amount_minor)::text AS total FROM subscriptions WHERE loan_id = 'ch1' GROUP BY status`,
  );
  expect(rows).toEqual([{ status: 'CONFIRMED', n: 20, total: '200000' }]);
  const { rows: due } = await db.pool.query(
    `SELECT count(*)::int AS n FROM outbox WHERE not_before <= now()`,
  );
  expect(due[0].n).toBe(0);
  for (let i = 0; i < INVESTORS; i++) {
    const b = await new Ledger(db.pool).balance(`investor:inv${i}:available`);
    expect(b.posted).toBe(answers.get(`inv${i}`)?.startsWith('sub_') ? 90_000n : 100_000n);
    expect(b.pendingDebits).toBe(0n);
  }
  await expectLedgerConsistent(db.pool);
  await worker.stop();
}, 240_000);
