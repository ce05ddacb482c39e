// Issue 25: every id has one bounded contract. Each derived id is built from the longest legal
// inputs and checked against every limit it meets downstream: the gateway's order number and memo
// (on the real simulator), Temporal's workflow id (on a real dev server), the API's path
// parameters (every route of the OpenAPI document), and the database's own CHECKs. The kinds
// never produce each other's ids.
import fc from 'fast-check';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  disbursementPayoutId,
  exceptionRecoveryId,
  PAYOUT_ID_MAX,
  recoveryCollectionId,
  repaymentCollectionId,
  scheduledPayoutId,
} from '../../ids/derived';
import {
  API_PATH_PARAM_MAX,
  CLIENT_ID_MAX,
  CLIENT_ID_RE,
  GATEWAY_MEMO_MAX,
  GATEWAY_ORDER_NO_MAX,
  TEMPORAL_WORKFLOW_ID_MAX,
} from '../../ids/limits';
import { newIds } from '../../ids/new-ids';
import { workflowIds } from '../../ids/workflow-ids';
import { MEMO_MAX_LENGTH, ORDER_NO_PATTERN, orderMemo } from '../../gateway/protocol';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { orderNoFor } from '../../payments/order-numbers';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import { ADMIN_KEY, useTestApi } from '../api/helpers';
import { ACCOUNT, clientFor, startTestSimulator, tempDir } from '../gateway/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor } from '../helpers/stack';
import { createDevServerEnv } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let simulator: RunningSimulator;
const simulatorDir = tempDir();
afterAll(async () => {
  await env?.teardown();
  await simulator?.close();
  simulatorDir.remove();
});
const db = useTestDatabase();
const api = useTestApi(db);
beforeAll(async () => {
  simulator = await startTestSimulator({ dataDir: simulatorDir.path });
  env = await createDevServerEnv();
});

// The longest legal inputs: client ids of 64 characters (a loan id with dashes takes the longer,
// length-prefixed payout form), the longest term, a late attempt, the longest exception number.
const LOAN = `L-${'l'.repeat(CLIENT_ID_MAX - 2)}`;
const INVESTOR = 'i'.repeat(CLIENT_ID_MAX);
const TERM_MAX = 360;
const ATTEMPT = 999;
const EXCEPTION = '9'.repeat(18);
const RECOVERY = exceptionRecoveryId(EXCEPTION);
const CHANNEL = 'c'.repeat(32);

/**
 * Each kind of order the platform sends, from the longest inputs: business id, order-number prefix,
 * memo purpose.
 */
const ORDERS = [
  {
    kind: 'scheduled payout',
    id: scheduledPayoutId(LOAN, TERM_MAX, INVESTOR, 'principal'),
    prefix: 'po',
    purpose: 'scheduled',
  },
  { kind: 'disbursement', id: disbursementPayoutId(LOAN), prefix: 'po', purpose: 'disbursement' },
  { kind: 'withdrawal', id: newIds.withdrawal(), prefix: 'po', purpose: 'withdrawal' },
  { kind: 'deposit', id: newIds.deposit(), prefix: 'dp', purpose: 'deposit' },
  {
    kind: 'repayment collection',
    id: repaymentCollectionId(LOAN, TERM_MAX, ATTEMPT),
    prefix: 'rp',
    purpose: 'repayment',
  },
  {
    kind: 'recovery collection',
    id: recoveryCollectionId(RECOVERY, ATTEMPT),
    prefix: 'rq',
    purpose: 'recovery',
  },
] as const;

const WORKFLOW_IDS = {
  loan: workflowIds.loan(LOAN),
  subscription: workflowIds.subscription(newIds.subscription()),
  repayment: workflowIds.repayment(LOAN, TERM_MAX),
  payoutRun: workflowIds.payoutRun(LOAN, TERM_MAX),
  payout: workflowIds.payout(scheduledPayoutId(LOAN, TERM_MAX, INVESTOR, 'principal')),
  deposit: workflowIds.deposit(newIds.deposit()),
  reconciliation: workflowIds.reconciliation(CHANNEL, '2026-12-31'),
  reconciliationSchedule: workflowIds.reconciliationSchedule(CHANNEL),
  recovery: workflowIds.recovery(newIds.manualRecovery()),
};

it("the contract's own numbers agree with the gateway's wire contract", () => {
  expect(ORDER_NO_PATTERN.source).toBe(`^[A-Za-z0-9_-]{1,${GATEWAY_ORDER_NO_MAX}}$`);
  expect(MEMO_MAX_LENGTH).toBe(GATEWAY_MEMO_MAX);
  expect(CLIENT_ID_RE.test('x'.repeat(CLIENT_ID_MAX))).toBe(true);
  expect(CLIENT_ID_RE.test('x'.repeat(CLIENT_ID_MAX + 1))).toBe(false);
});

it.each(ORDERS)(
  'a $kind from the longest inputs gets an order number and a memo the real gateway takes',
  async ({ id, prefix, purpose }) => {
    const orderNo = orderNoFor(id, prefix);
    expect(orderNo).toMatch(ORDER_NO_PATTERN);
    // a function of the id: a retry mints the same one
    expect(orderNoFor(id, prefix)).toBe(orderNo);
    const memo = orderMemo(purpose, orderNo);
    expect(memo.length).toBeLessThanOrEqual(GATEWAY_MEMO_MAX);
    const gateway = clientFor(simulator.url);
    const request = { orderNo, amountMinor: 100n, currency: 'CNY', account: ACCOUNT, memo };
    const outcome =
      purpose === 'deposit' || purpose === 'repayment' || purpose === 'recovery'
        ? await gateway.collect(request)
        : await gateway.payout(request);
    expect(outcome).toMatchObject({ kind: 'succeeded' });
    expect(simulator.truth().filter((o) => o.orderNo === orderNo)).toEqual([
      expect.objectContaining({ memo, status: 'SUCCESS' }),
    ]);
  },
);

it('every workflow id from the longest inputs fits Temporal, and a real server starts it', async () => {
  for (const [kind, workflowId] of Object.entries(WORKFLOW_IDS)) {
    expect({
      kind,
      fits:
        workflowId.length <= TEMPORAL_WORKFLOW_ID_MAX && workflowId.length <= API_PATH_PARAM_MAX,
    }).toEqual({ kind, fits: true });
  }
  // No worker: the start is what is checked (Temporal refuses ids over its limit), then it is
  // terminated.
  const handle = await env.client.workflow.start('payoutWorkflow', {
    workflowId: WORKFLOW_IDS.payout,
    taskQueue: TASK_QUEUE,
    args: [{ payoutId: 'x', partyId: 'y' }],
  });
  expect((await handle.describe()).workflowId).toBe(WORKFLOW_IDS.payout);
  await handle.terminate('checked');
});

it("the database's id CHECKs accept the longest derived ids, and no id column is shorter than its ids", async () => {
  const longest: Record<string, string> = {
    'payouts.id': ORDERS[0].id,
    'payouts.order_no': orderNoFor(ORDERS[0].id, 'po'),
    'deposits.order_no': orderNoFor(ORDERS[3].id, 'dp'),
    'repayment_collections.order_no': orderNoFor(ORDERS[4].id, 'rp'),
    'recovery_collections.order_no': orderNoFor(ORDERS[5].id, 'rq'),
  };
  const { rows: checks } = await db.pool.query<{ tbl: string; def: string }>(
    `SELECT conrelid::regclass::text AS tbl, pg_get_constraintdef(oid) AS def FROM pg_constraint
     WHERE contype = 'c' AND connamespace = current_schema()::regnamespace AND pg_get_constraintdef(oid) LIKE '%~ ''^%'`,
  );
  let checked = 0;
  for (const { tbl, def } of checks) {
    const m = /\((\w+) ~ '(\^[^']+\$)'::text\)/.exec(def);
    const value = m ? longest[`${tbl}.${m[1]}`] : undefined;
    if (!m || value === undefined) continue;
    expect({ column: `${tbl}.${m[1]}`, accepts: new RegExp(m[2]).test(value) }).toEqual({
      column: `${tbl}.${m[1]}`,
      accepts: true,
    });
    checked += 1;
  }
  expect(checked).toBe(Object.keys(longest).length);
  // Ids live in text columns: no varchar limit cuts one short.
  const { rows: bounded } = await db.pool.query(
    `SELECT table_name, column_name, character_maximum_length FROM information_schema.columns
     WHERE table_schema = current_schema() AND (column_name = 'id' OR column_name LIKE '%\\_id' OR column_name = 'order_no')
       AND character_maximum_length IS NOT NULL AND character_maximum_length < $1`,
    [PAYOUT_ID_MAX + 'repayment-'.length],
  );
  expect(bounded).toEqual([]);
});

it('no two different orders get the same id or order number, whatever the client ids (the kinds cannot read as each other)', () => {
  const clientId = fc
    .stringMatching(/^[A-Za-z0-9_-]{1,12}$/)
    .chain((s) => fc.constantFrom(s, 'disb', `${s}-interest`, `1-${s}`));
  const order = fc.oneof(
    fc.tuple(
      fc.constant('scheduled'),
      clientId,
      fc.integer({ min: 1, max: 12 }),
      clientId,
      fc.constantFrom('interest', 'principal'),
    ),
    fc.tuple(fc.constant('disbursement'), clientId),
    fc.tuple(
      fc.constant('repayment'),
      clientId,
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 5 }),
    ),
    fc.tuple(fc.constant('recovery'), clientId, fc.integer({ min: 1, max: 5 })),
  );
  const idOf = (o: readonly unknown[]): string => {
    switch (o[0]) {
      case 'scheduled':
        return scheduledPayoutId(
          o[1] as string,
          o[2] as number,
          o[3] as string,
          o[4] as 'interest',
        );
      case 'disbursement':
        return disbursementPayoutId(o[1] as string);
      case 'repayment':
        return repaymentCollectionId(o[1] as string, o[2] as number, o[3] as number);
      default:
        return recoveryCollectionId(o[1] as string, o[2] as number);
    }
  };
  fc.assert(
    fc.property(order, order, (a, b) => {
      if (JSON.stringify(a) === JSON.stringify(b)) return;
      expect(idOf(a)).not.toBe(idOf(b));
      expect(orderNoFor(idOf(a), 'x')).not.toBe(orderNoFor(idOf(b), 'x'));
    }),
    { seed: 25, numRuns: 5_000 },
  );
  // The case that collided: a loan named "disb" paying investor "inv" vs the disbursement of loan
  // "1-inv-interest".
  expect(scheduledPayoutId('disb', 1, 'inv', 'interest')).not.toBe(
    disbursementPayoutId('1-inv-interest'),
  );
});

it("the workflow ids the rush path's SQL builds (migrations 0005, 0006) are the ones ids/workflow-ids.ts builds", async () => {
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const post = (url: string, payload: object, headers: Record<string, string> = admin) =>
    api.app.inject({
      method: 'POST',
      url,
      headers: {
        ...headers,
        'idempotency-key': `sql-${url}-${JSON.stringify(payload)}`
          .slice(0, 120)
          .replace(/[^A-Za-z0-9_.:-]/g, '_'),
      },
      payload,
    });
  const loanId = `L-sql-${'q'.repeat(CLIENT_ID_MAX - 6)}`;
  expect((await post('/v1/borrowers', { id: 'sql-bor', name: 'B' })).statusCode).toBe(201);
  expect(
    (
      await post('/v1/loans', {
        id: loanId,
        borrowerId: 'sql-bor',
        principal: '100.00',
        annualRate: '0.1',
        termMonths: 1,
        repaymentMethod: 'equal_principal',
        subscriptionDeadline: new Date(Date.now() + 600_000).toISOString(),
      })
    ).statusCode,
  ).toBe(201);
  const key = await api.partyKey('investor', 'sql-inv');
  await fundInvestor(db, 'sql-inv', 10_000n);
  const sub = await post(
    `/v1/loans/${loanId}/subscriptions`,
    { investorId: 'sql-inv', amount: '100.00' },
    { authorization: `Bearer ${key}` },
  );
  expect(sub.statusCode).toBe(201);
  const { subscriptionId, workflowId } = sub.json<{ subscriptionId: string; workflowId: string }>();
  expect(workflowId).toBe(workflowIds.subscription(subscriptionId));
  const { rows } = await db.pool.query<{ action: string; workflow_id: string }>(
    'SELECT action, workflow_id FROM outbox ORDER BY id',
  );
  // The loan's start (TS), the subscription's start and the loan's "fully reserved" signal (SQL):
  // the same forms.
  expect(rows).toEqual([
    { action: 'start', workflow_id: workflowIds.loan(loanId) },
    { action: 'start', workflow_id: workflowIds.subscription(subscriptionId) },
    { action: 'signal', workflow_id: workflowIds.loan(loanId) },
  ]);
});

describe('the API reaches everything it creates', () => {
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  /** The longest value the platform can create for each path parameter of each route. */
  function longestParam(path: string, name: string): string {
    if (name === 'n') return String(TERM_MAX);
    if (name === 'date') return '2026-12-31';
    if (name === 'channel') return CHANNEL;
    if (name === 'workflowId') return WORKFLOW_IDS.payout;
    // the contract's bound, above the longest derived one
    if (path.startsWith('/v1/payouts/')) return 'p'.repeat(PAYOUT_ID_MAX);
    if (path.startsWith('/v1/api-keys/')) return '0123456789abcdef';
    if (path.startsWith('/v1/approvals/')) return 'apr-00000000-0000-4000-8000-000000000000';
    if (name === 'bankAccountId') return 'ba_0123456789abcdef0123';
    if (path.includes('/exceptions/')) return EXCEPTION;
    // loans, parties, subscriptions, recoveries: client ids and shorter platform ids
    return 'x'.repeat(CLIENT_ID_MAX);
  }

  it('every route whose path carries an id accepts the longest id: never 414, never a refused parameter', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    let walked = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!path.includes('{')) continue;
      for (const method of Object.keys(methods)) {
        const url = path.replace(/\{([^}]+)\}/g, (_all, name: string) =>
          encodeURIComponent(longestParam(path, name)),
        );
        const res = await api.app.inject({
          method: method.toUpperCase() as 'GET',
          url,
          headers: { ...admin, 'idempotency-key': `walk-${walked}` },
          payload: method === 'get' || method === 'delete' ? undefined : {},
        });
        const error =
          res.statusCode >= 400
            ? res.json<{ error?: { code: string; message: string } }>().error
            : undefined;
        const refusedParam =
          res.statusCode === 414 ||
          error?.code === 'INVALID_ID' ||
          (error?.message ?? '').startsWith('params');
        expect({ route: `${method} ${path}`, status: res.statusCode, refusedParam }).toEqual({
          route: `${method} ${path}`,
          status: res.statusCode,
          refusedParam: false,
        });
        walked += 1;
      }
    }
    expect(walked).toBeGreaterThan(15);
  });

  it("a path parameter past every id's limit (over 256) is the same coded 422 in the API's error shape, not fastify's 414", async () => {
    const res = await api.app.inject({
      method: 'GET',
      url: `/v1/loans/${'x'.repeat(API_PATH_PARAM_MAX + 1)}`,
      headers: admin,
    });
    expect({ status: res.statusCode, body: res.json() }).toEqual({
      status: 422,
      body: {
        error: { code: 'INVALID_ID', message: expect.any(String), details: { field: 'path' } },
      },
    });
  });

  it('the refusal states the contract of the id it refused', async () => {
    const payout = await api.app.inject({
      method: 'GET',
      url: `/v1/payouts/${'p'.repeat(PAYOUT_ID_MAX + 1)}`,
      headers: admin,
    });
    expect(payout.json().error.message).toBe(
      `id must be 1 to ${PAYOUT_ID_MAX} characters of [A-Za-z0-9_-]`,
    );
    const loan = await api.app.inject({
      method: 'GET',
      url: `/v1/loans/${'x'.repeat(CLIENT_ID_MAX + 1)}`,
      headers: admin,
    });
    expect(loan.json().error.message).toBe(
      `id must be 1 to ${CLIENT_ID_MAX} characters of [A-Za-z0-9_-]`,
    );
  });

  it("the OpenAPI document states every id's contract, and every id path parameter and id field carries its pattern", async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{
      components: { schemas: Record<string, { pattern: string; description: string }> };
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: { in: string; name: string; schema: { pattern?: string } }[];
            responses: Record<string, unknown>;
          }
        >
      >;
    }>();
    for (const kind of [
      'ClientId',
      'SubscriptionId',
      'DepositId',
      'PayoutId',
      'RecoveryId',
      'OrderNo',
      'WorkflowId',
    ]) {
      expect(doc.components.schemas[kind]).toEqual({
        type: 'string',
        pattern: expect.any(String),
        description: expect.any(String),
      });
    }
    // The platform's own ids satisfy the patterns the document publishes.
    const published = (kind: string) => new RegExp(doc.components.schemas[kind].pattern);
    expect(published('SubscriptionId').test(newIds.subscription())).toBe(true);
    expect(published('DepositId').test(newIds.deposit())).toBe(true);
    expect(
      published('PayoutId').test(ORDERS[0].id) && published('PayoutId').test(newIds.withdrawal()),
    ).toBe(true);
    expect(
      published('RecoveryId').test(RECOVERY) &&
        published('RecoveryId').test(newIds.manualRecovery()),
    ).toBe(true);
    expect(
      Object.values(WORKFLOW_IDS)
        .filter((w) => !w.startsWith('recon'))
        .every((w) => published('WorkflowId').test(w)),
    ).toBe(true);
    let params = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const p of (op.parameters ?? []).filter(
          (q) => q.in === 'path' && /^(id|workflowId)$/.test(q.name),
        )) {
          expect({
            route: `${method} ${path}`,
            param: p.name,
            pattern: typeof p.schema.pattern,
          }).toEqual({ route: `${method} ${path}`, param: p.name, pattern: 'string' });
          expect({ route: `${method} ${path}`, declares422: '422' in op.responses }).toEqual({
            route: `${method} ${path}`,
            declares422: true,
          });
          params += 1;
        }
      }
    }
    expect(params).toBeGreaterThan(15);
  });

  it('one character past the contract is a coded 422 naming the parameter, not a 414 or a 5xx', async () => {
    for (const [url, field] of [
      [`/v1/payouts/${'p'.repeat(PAYOUT_ID_MAX + 1)}`, 'id'],
      [`/v1/loans/${'x'.repeat(CLIENT_ID_MAX + 1)}`, 'id'],
      [`/v1/investors/${'x'.repeat(CLIENT_ID_MAX + 1)}/balance`, 'id'],
      [`/v1/reviews/payout-${'p'.repeat(PAYOUT_ID_MAX + 1)}/resolve`, 'workflowId'],
    ] as const) {
      const res = await api.app.inject({
        method: url.endsWith('resolve') ? 'POST' : 'GET',
        url,
        headers: admin,
        payload: url.endsWith('resolve') ? { decision: 'paid', reason: 'xyz' } : undefined,
      });
      expect({ url: url.slice(0, 30), status: res.statusCode, error: res.json().error }).toEqual({
        url: url.slice(0, 30),
        status: 422,
        error: { code: 'INVALID_ID', message: expect.any(String), details: { field } },
      });
    }
  });
});
