// Issue 16, item 10: the authorisation walk over every route of the OpenAPI document, each called
// with a request its schema accepts: without a key (401), with a key of each role it does not allow
// (403), and, where investors or borrowers may call it, with another party's key on a resource that
// exists (404, the same as a missing one; the owner's key gets past it). Then SQL injection in
// every path parameter and body field, nested ones included, which must give a coded 4xx (or a
// success that took the text as data) and change nothing it should not. And the document lists
// every registered route.
import { approveHeld } from '../helpers/approvals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { registeredRoutes } from '../../api/method-not-allowed';
import { ACCOUNT, SECRET } from '../gateway/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor } from '../helpers/stack';
import { addAccountVerifiedWithoutGateway } from '../helpers/bank-accounts';
import { createDevServerEnv } from '../helpers/temporal';
import { ADMIN_KEY } from '../api/helpers';

type Role = 'admin' | 'operator' | 'investor' | 'borrower';
const ROLES: Role[] = ['admin', 'operator', 'investor', 'borrower'];

/** Who may call each route: the contract this walk holds the code to (API.md's "who" column). */
const ALLOWED: Record<string, Role[] | 'public' | 'any'> = {
  'GET /healthz': 'public',
  'GET /metrics': 'public',
  'POST /v1/gateway/notifications': 'public',
  'POST /v1/investors': ['admin'],
  'POST /v1/borrowers': ['admin'],
  'POST /v1/api-keys': ['admin'],
  'DELETE /v1/api-keys/{id}': ['admin'],
  'GET /v1/investors/{id}/balance': ['admin', 'operator', 'investor'],
  'GET /v1/investors/{id}/statement': ['admin', 'operator', 'investor'],
  'GET /v1/investors/{id}/portfolio': ['admin', 'operator', 'investor'],
  'GET /v1/borrowers/{id}/loans': ['admin', 'operator', 'borrower'],
  'GET /v1/ledger/trial-balance': ['admin', 'operator'],
  'GET /v1/limits': ['admin', 'operator'],
  'POST /v1/limits/{name}': ['admin'],
  'POST /v1/loans': ['admin'],
  'GET /v1/loans/{id}': 'any',
  'POST /v1/loans/{id}/subscriptions': ['investor'],
  'GET /v1/subscriptions/{id}': ['admin', 'operator', 'investor'],
  'POST /v1/subscriptions/{id}/cancel': ['investor'],
  'POST /v1/investors/{id}/bank-accounts': ['admin', 'operator', 'investor'],
  'GET /v1/investors/{id}/bank-accounts': ['admin', 'operator', 'investor'],
  'POST /v1/borrowers/{id}/bank-accounts': ['admin', 'operator', 'borrower'],
  'GET /v1/borrowers/{id}/bank-accounts': ['admin', 'operator', 'borrower'],
  'DELETE /v1/investors/{id}/bank-accounts/{bankAccountId}': ['admin', 'operator', 'investor'],
  'DELETE /v1/borrowers/{id}/bank-accounts/{bankAccountId}': ['admin', 'operator', 'borrower'],
  'POST /v1/investors/{id}/deposits': ['admin', 'investor'],
  'POST /v1/investors/{id}/withdrawals': ['investor'],
  'GET /v1/reviews': ['admin', 'operator'],
  'POST /v1/reviews/{workflowId}/resolve': ['admin', 'operator'],
  'GET /v1/payouts/{id}': ['admin', 'operator', 'investor', 'borrower'],
  'POST /v1/loans/{id}/installments/{n}/repayments': ['admin', 'operator', 'borrower'],
  'POST /v1/payout-runs': ['admin', 'operator'],
  'POST /v1/reconciliations': ['admin', 'operator'],
  'GET /v1/reconciliations/{channel}/{date}': ['admin', 'operator'],
  'POST /v1/reconciliations/{channel}/{date}/exceptions/{id}/resolve': ['admin', 'operator'],
  'POST /v1/recoveries': ['admin', 'operator'],
  'GET /v1/recoveries': ['admin', 'operator', 'investor'],
  'GET /v1/recoveries/{id}': ['admin', 'operator', 'investor'],
  'POST /v1/recoveries/{id}/request-collection': ['admin', 'operator'],
  'POST /v1/recoveries/{id}/write-off': ['admin', 'operator'],
  'GET /v1/audit': ['admin'],
  'POST /v1/bank-accounts/reseal': ['admin'],
  'GET /v1/approvals': ['admin', 'operator'],
  'GET /v1/controls': ['admin', 'operator'],
  'POST /v1/controls/pause': ['admin', 'operator'],
  'POST /v1/controls/resume': ['admin', 'operator'],
  'POST /v1/approvals/{id}/approve': ['admin', 'operator'],
  'POST /v1/approvals/{id}/reject': ['admin', 'operator'],
};

const db = useTestDatabase();
let app: FastifyInstance;
let env: TestWorkflowEnvironment;
const keys = {} as Record<Role | 'otherInvestor' | 'otherBorrower', string>;
/** Resources owned by aw-inv and aw-bor, for the other party's key to try. */
const owned: Record<string, string> = {};
let doc: {
  paths: Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>
  >;
};

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: string[];
  pattern?: string;
}

beforeAll(async () => {
  // a real Temporal (no worker): decisions reach it and are answered there
  env = await createDevServerEnv();
  app = await buildApp({
    pool: db.pool,
    adminApiKey: ADMIN_KEY,
    gatewaySecret: SECRET,
    rateLimitPerMinute: 1_000_000,
    temporal: env.client,
    failedAuthLimits: {
      maxFailures: 1_000_000,
      windowMs: 60_000,
      alertAt: 1_000_000,
      maxAddresses: 100,
    },
  });
  await app.ready();
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  for (const [kind, id] of [
    ['investors', 'aw-inv'],
    ['investors', 'aw-inv2'],
    ['borrowers', 'aw-bor'],
    ['borrowers', 'aw-bor2'],
  ] as const) {
    await app.inject({
      method: 'POST',
      url: `/v1/${kind}`,
      headers: { ...admin, 'idempotency-key': `aw-${id}` },
      payload: { id, name: id, bankAccount: ACCOUNT },
    });
  }
  const issue = async (role: string) =>
    (
      await app.inject({ method: 'POST', url: '/v1/api-keys', headers: admin, payload: { role } })
    ).json<{ key: string }>().key;
  Object.assign(keys, {
    admin: ADMIN_KEY,
    operator: await issue('operator'),
    investor: await issue('investor:aw-inv'),
    borrower: await issue('borrower:aw-bor'),
    otherInvestor: await issue('investor:aw-inv2'),
    otherBorrower: await issue('borrower:aw-bor2'),
  });
  await fundInvestor(db, 'aw-inv', 500_00n);
  owned.bankAccount = await addAccountVerifiedWithoutGateway(app, db, {
    partyId: 'aw-inv',
    authorization: `Bearer ${keys.investor}`,
    account: ACCOUNT,
  });
  // what the walk's DELETEs take off file (the accounts above stay usable)
  for (const [kind, partyId, key] of [
    ['investor', 'aw-inv', keys.investor],
    ['borrower', 'aw-bor', keys.borrower],
  ] as const)
    owned[`${kind}Spare`] = await addAccountVerifiedWithoutGateway(app, db, {
      kind,
      partyId,
      authorization: `Bearer ${key}`,
      account: { ...ACCOUNT, accountNo: '6222000011112222' },
    });
  await app.inject({
    method: 'POST',
    url: '/v1/loans',
    headers: { ...admin, 'idempotency-key': 'aw-loan' },
    payload: {
      id: 'aw-loan',
      borrowerId: 'aw-bor',
      principal: '1000.00',
      annualRate: '0.10',
      termMonths: 3,
      repaymentMethod: 'equal_installment',
      subscriptionDeadline: new Date(Date.now() + 3_600_000).toISOString(),
    },
  });
  const as = (key: string, idem: string) => ({
    authorization: `Bearer ${key}`,
    'idempotency-key': idem,
  });
  owned.subscription = (
    await app.inject({
      method: 'POST',
      url: '/v1/loans/aw-loan/subscriptions',
      headers: as(keys.investor, 'aw-sub'),
      payload: { investorId: 'aw-inv', amount: '10.00' },
    })
  ).json<{ subscriptionId: string }>().subscriptionId;
  owned.payout = (
    await app.inject({
      method: 'POST',
      url: '/v1/investors/aw-inv/withdrawals',
      headers: as(keys.investor, 'aw-wd'),
      payload: { amount: '5.00', bankAccountId: owned.bankAccount },
    })
  ).json<{ payoutId: string }>().payoutId;
  // opened once a second key (the admin's) approves it
  owned.recovery = (
    await approveHeld<{ id: string }>(
      app,
      await app.inject({
        method: 'POST',
        url: '/v1/recoveries',
        headers: as(keys.operator, 'aw-rc'),
        payload: { investorId: 'aw-inv', amount: '1.00', reason: 'paid twice' },
      }),
      { authorization: `Bearer ${ADMIN_KEY}` },
    )
  ).id;
  expect(Object.values(owned).every(Boolean)).toBe(true);
  doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
}, 120_000);
afterAll(async () => {
  await app?.close();
  await env?.teardown();
});

/**
 * A value the schema accepts, by the field's name where the shape alone does not say (ids that
 * exist, amounts, reasons).
 */
function example(schema: Schema | undefined, name: string): unknown {
  const known: Record<string, unknown> = {
    id: 'aw-new',
    investorId: 'aw-inv',
    borrowerId: 'aw-bor',
    loanId: 'aw-loan',
    amount: '1.00',
    principal: '100.00',
    annualRate: '0.10',
    termMonths: 3,
    installment: 1,
    reason: 'because of the walk',
    decision: 'paid',
    action: 'accept',
    role: 'operator',
    channel: 'default',
    date: '2026-01-01',
    name: 'A name',
    subscriptionDeadline: new Date(Date.now() + 3_600_000).toISOString(),
    bankCode: ACCOUNT.bankCode,
    accountNo: ACCOUNT.accountNo,
    accountName: ACCOUNT.accountName,
    bankAccountId: owned.bankAccount,
  };
  if (schema?.enum) return schema.enum[0];
  if (name in known && schema?.type !== 'object') return known[name];
  if (schema?.type === 'object' || schema?.properties) {
    return Object.fromEntries(
      (schema.required ?? []).map((field) => [field, example(schema.properties?.[field], field)]),
    );
  }
  if (schema?.type === 'integer' || schema?.type === 'number') return 1;
  if (schema?.type === 'boolean') return false;
  return 'aw-value';
}

/** Every body field, nested ones included (`bankAccount.accountName`), as a path. */
function fieldPaths(schema: Schema | undefined, prefix: string[] = []): string[][] {
  return Object.entries(schema?.properties ?? {}).flatMap(([name, child]) => {
    const path = [...prefix, name];
    return child.type === 'object' || child.properties
      ? [path, ...fieldPaths(child, path)]
      : [path];
  });
}

/** An accepted body with the field at `path` (its parents made up as needed) set to `value`. */
function withInjected(schema: Schema, path: string[], value: string): object {
  const body = example(schema, '') as Record<string, unknown>;
  let node = body;
  let at = schema;
  path.forEach((key, i) => {
    const child = at.properties?.[key] ?? {};
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    node[key] ??= example(child, key);
    node = node[key] as Record<string, unknown>;
    at = child;
  });
  return body;
}

/** Path parameters of a resource that exists and belongs to aw-inv or aw-bor. */
function ownedUrl(path: string): string {
  const resource = path.startsWith('/v1/subscriptions')
    ? owned.subscription
    : path.startsWith('/v1/payouts')
      ? owned.payout
      : path.startsWith('/v1/recoveries/')
        ? owned.recovery
        : path.startsWith('/v1/loans')
          ? 'aw-loan'
          : path.startsWith('/v1/api-keys')
            ? '0123456789abcdef'
            : path.startsWith('/v1/approvals')
              ? 'apr-00000000-0000-4000-8000-000000000000'
              : path.startsWith('/v1/reconciliations')
                ? '1'
                : path.startsWith('/v1/borrowers')
                  ? 'aw-bor'
                  : 'aw-inv';
  const spare = path.startsWith('/v1/borrowers') ? owned.borrowerSpare : owned.investorSpare;
  return path
    .replace('{id}', resource)
    .replace('{bankAccountId}', spare)
    .replace('{n}', '1')
    .replace('{workflowId}', 'payout-aw-x')
    .replace('{channel}', 'default')
    .replace('{date}', '2026-01-01');
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );

function call(
  o: ReturnType<typeof operations>[number],
  key: string | undefined,
  url = ownedUrl(o.path),
  body?: unknown,
) {
  const schema = o.op.requestBody?.content['application/json']?.schema;
  const payload = body ?? (schema ? example(schema, '') : undefined);
  return app.inject({
    method: o.method as 'GET',
    url,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      'idempotency-key': `aw-${Math.random().toString(36).slice(2)}`,
    },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

it('the document lists every registered route, /metrics included, and the walk knows who may call each', () => {
  const documented = operations()
    .map((o) => `${o.method} ${o.path}`)
    .sort();
  const registered = [...registeredRoutes(app)]
    .flatMap(([url, methods]) =>
      [...methods]
        .filter((m) => m !== 'HEAD')
        .map((m) => `${m} ${url.replace(/:([A-Za-z]+)/g, '{$1}')}`),
    )
    .filter((r) => r !== 'GET /v1/openapi.json')
    .sort();
  expect(documented).toEqual(registered);
  expect(documented).toContain('GET /metrics');
  expect(Object.keys(ALLOWED).sort()).toEqual(documented);
});

it('without a key every non-public route is 401; with a key of a role it does not allow, 403', async () => {
  const seen: string[] = [];
  for (const o of operations()) {
    const allowed = ALLOWED[`${o.method} ${o.path}`];
    if (allowed === 'public') continue;
    const none = await call(o, undefined);
    seen.push(`${o.method} ${o.path} none ${none.statusCode}`);
    expect({ route: `${o.method} ${o.path}`, status: none.statusCode }).toEqual({
      route: `${o.method} ${o.path}`,
      status: 401,
    });
    if (allowed === 'any') continue;
    for (const role of ROLES.filter((r) => !allowed.includes(r))) {
      const res = await call(o, keys[role]);
      expect({
        route: `${o.method} ${o.path}`,
        role,
        status: res.statusCode,
        code: res.json().error?.code,
      }).toEqual({ route: `${o.method} ${o.path}`, role, status: 403, code: 'FORBIDDEN' });
      seen.push(`${o.method} ${o.path} ${role}`);
    }
  }
  expect(seen.length).toBeGreaterThan(60);
});

it("an investor's or borrower's key on another party's resource is 404, as a missing one; the owner's key gets past it", async () => {
  let checked = 0;
  for (const o of operations()) {
    const allowed = ALLOWED[`${o.method} ${o.path}`];
    if (!Array.isArray(allowed) || (!o.path.includes('{') && !o.op.requestBody)) continue;
    for (const [role, other] of [
      ['investor', keys.otherInvestor],
      ['borrower', keys.otherBorrower],
    ] as const) {
      if (!allowed.includes(role)) continue;
      // the payout is an investor's withdrawal
      if (o.path.startsWith('/v1/payouts') && role === 'borrower') continue;
      const stranger = await call(o, other);
      expect({ route: `${o.method} ${o.path}`, role, status: stranger.statusCode }).toEqual({
        route: `${o.method} ${o.path}`,
        role,
        status: 404,
      });
      const owner = await call(o, keys[role]);
      expect({
        route: `${o.method} ${o.path}`,
        role,
        owner: owner.statusCode === 404 || owner.statusCode === 403,
      }).toEqual({ route: `${o.method} ${o.path}`, role, owner: false });
      checked += 1;
    }
  }
  expect(checked).toBeGreaterThanOrEqual(9);
});

it('SQL injection in every path parameter and body field is refused or taken as data: no 5xx, no table touched', async () => {
  const INJECTIONS = [
    "' OR '1'='1",
    "aw'); DELETE FROM api_keys; --",
    '1 UNION SELECT secret_hash FROM api_keys',
  ];
  const counts = async () =>
    (
      await db.pool.query<{ k: number; p: number; a: number }>(
        'SELECT (SELECT count(*) FROM api_keys)::int AS k, (SELECT count(*) FROM ledger_postings)::int AS p, (SELECT count(*) FROM audit_log)::int AS a',
      )
    ).rows[0];
  const before = await counts();
  let sent = 0;
  for (const o of operations()) {
    const allowed = ALLOWED[`${o.method} ${o.path}`];
    const key =
      allowed === 'public'
        ? undefined
        : allowed === 'any' || allowed.includes('admin')
          ? keys.admin
          : keys[allowed[0]];
    const schema = o.op.requestBody?.content['application/json']?.schema;
    const params = [...o.path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]);
    for (const injection of INJECTIONS) {
      for (const param of params) {
        const res = await call(
          o,
          key,
          ownedUrl(o.path.replace(`{${param}}`, encodeURIComponent(injection))),
        );
        expect({ route: `${o.method} ${o.path}`, param, status: res.statusCode < 500 }).toEqual({
          route: `${o.method} ${o.path}`,
          param,
          status: true,
        });
        sent += 1;
      }
      for (const path of fieldPaths(schema)) {
        const field = path.join('.');
        const body = withInjected(schema as Schema, path, injection);
        const res = await call(o, key, undefined, body);
        expect({ route: `${o.method} ${o.path}`, field, status: res.statusCode < 500 }).toEqual({
          route: `${o.method} ${o.path}`,
          field,
          status: true,
        });
        sent += 1;
      }
    }
  }
  expect(sent).toBeGreaterThan(100);
  const after = await counts();
  // nothing deleted (an accepted key issue may add one)
  expect(after.k).toBeGreaterThanOrEqual(before.k);
  expect(after.p).toBeGreaterThanOrEqual(before.p);
  expect(after.a).toBeGreaterThanOrEqual(before.a);
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM api_keys WHERE role = 'operator'`,
  );
  expect(rows[0].n).toBeGreaterThanOrEqual(1);
}, 120_000);
