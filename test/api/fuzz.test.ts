// Issue 16, item 6: a fuzzer driven by the OpenAPI document. Each case picks a documented operation
// and sends it with path, query, headers and body drawn from the document's own schemas, then
// broken: wrong types, missing and extra fields, SQL injection, NUL and control characters, huge
// numbers, long strings, keys of every role and none. On the real API with a real Postgres and a
// real Temporal dev server (no worker: workflows are started or asked, never run). Every answer
// must be below 500, with a status the operation declares and a body its schema for that status
// accepts. Fixed seed and a bounded number of cases (FUZZ_SEED, FUZZ_RUNS to explore further).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Ajv from 'ajv';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { ACCOUNT, SECRET } from '../gateway/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor } from '../helpers/stack';
import { createDevServerEnv } from '../helpers/temporal';
import { ADMIN_KEY } from './helpers';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 800);

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  format?: string;
}
interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

const db = useTestDatabase();
let env: TestWorkflowEnvironment;
let app: FastifyInstance;
let operations: { path: string; method: string; op: Operation }[];
const keys: Record<string, string> = {};

beforeAll(async () => {
  env = await createDevServerEnv();
  app = await buildApp({
    pool: db.pool,
    adminApiKey: ADMIN_KEY,
    temporal: env.client,
    gatewaySecret: SECRET,
    failedAuthLimits: {
      maxFailures: 1_000_000,
      windowMs: 60_000,
      alertAt: 1_000_000,
      maxAddresses: 100,
    },
    rateLimitPerMinute: 1_000_000,
  });
  await app.ready();
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  // A little world for requests to reach past their lookups: two investors (one funded), a
  // borrower, an open loan.
  for (const [kind, id] of [
    ['investors', 'fz-inv'],
    ['investors', 'fz-other'],
    ['borrowers', 'fz-bor'],
  ] as const) {
    await app.inject({
      method: 'POST',
      url: `/v1/${kind}`,
      headers: { ...admin, 'idempotency-key': `fz-${id}` },
      payload: { id, name: id, bankAccount: ACCOUNT },
    });
  }
  await fundInvestor(db, 'fz-inv', 10_000_00n);
  await app.inject({
    method: 'POST',
    url: '/v1/loans',
    headers: { ...admin, 'idempotency-key': 'fz-loan' },
    payload: {
      id: 'fz-loan',
      borrowerId: 'fz-bor',
      principal: '1000.00',
      annualRate: '0.10',
      termMonths: 3,
      repaymentMethod: 'equal_installment',
      subscriptionDeadline: new Date(Date.now() + 3_600_000).toISOString(),
    },
  });
  const issue = async (role: string) =>
    (
      await app.inject({ method: 'POST', url: '/v1/api-keys', headers: admin, payload: { role } })
    ).json<{ key: string }>().key;
  keys.admin = ADMIN_KEY;
  keys.operator = await issue('operator');
  keys.investor = await issue('investor:fz-inv');
  keys.otherInvestor = await issue('investor:fz-other');
  keys.borrower = await issue('borrower:fz-bor');
  const doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{
    paths: Record<string, Record<string, Operation>>;
  }>();
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );
}, 120_000);

afterAll(async () => {
  await app?.close();
  await env?.teardown();
});

/** Strings an attacker or a broken client sends. */
const HOSTILE = [
  "' OR '1'='1",
  '1; DROP TABLE ledger_postings; --',
  "x') UNION SELECT secret_hash FROM api_keys --",
  '\u0000',
  'a\u0000b',
  '\u202e\u0007\u001b[2J',
  '../../etc/passwd',
  '%00',
  '%',
  '😀'.repeat(30),
  'a'.repeat(300),
  '9'.repeat(40),
  '-1',
  '0',
  '1e309',
  'NaN',
  'null',
  '[]',
  '{}',
  '',
  ' ',
  '2026-02-30T25:61:00Z',
  '-0.00',
  '0.001',
  '99999999999999999999.99',
  'CNY',
  'XXX',
  'fz-inv',
  'fz-other',
  'fz-loan',
  'fz-bor',
];
const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** A value for a schema: mostly of its shape (sometimes valid), often not. */
function valueFor(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const wrong = fc.oneof(
    fc.constant(null),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    hostileString,
    fc.constant([]),
    fc.constant({}),
  );
  if (!schema || depth > 3) return wrong;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  let shaped: fc.Arbitrary<unknown>;
  if (schema.enum) shaped = fc.constantFrom(...schema.enum);
  else if (type === 'string') {
    const matching = schema.pattern
      ? fc.stringMatching(new RegExp(schema.pattern))
      : fc.string({ maxLength: 30 });
    const amount = fc
      .tuple(fc.integer({ min: -5, max: 100_000 }), fc.integer({ min: 0, max: 999 }))
      .map(([a, b]) => `${a}.${String(b).padStart(2, '0')}`);
    shaped =
      schema.format === 'date-time'
        ? fc.date({ noInvalidDate: true }).map((d) => d.toISOString())
        : fc.oneof(matching, amount, hostileString);
  } else if (type === 'integer' || type === 'number') {
    shaped = fc.oneof(
      fc.integer({ min: schema.minimum ?? -10, max: schema.maximum ?? 1_000 }),
      fc.constantFrom(2 ** 53, -(2 ** 31), 1e308, 0.5),
    );
  } else if (type === 'boolean') shaped = fc.boolean();
  else if (type === 'array') shaped = fc.array(valueFor(schema.items, depth + 1), { maxLength: 3 });
  else if (type === 'object' || schema.properties) shaped = objectFor(schema, depth);
  else shaped = wrong;
  return fc.oneof({ arbitrary: shaped, weight: 4 }, { arbitrary: wrong, weight: 1 });
}

function objectFor(schema: Schema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = Object.entries(schema.properties ?? {});
  const record = fc.record(
    Object.fromEntries(props.map(([name, s]) => [name, valueFor(s, depth + 1)])),
    { requiredKeys: [] },
  );
  // Usually every required field is there; sometimes one is missing, sometimes one too many.
  return fc.tuple(record, fc.nat({ max: 9 }), hostileString).map(([value, roll, extra]) => {
    const out = { ...value };
    for (const name of schema.required ?? []) if (roll < 7 && !(name in out)) out[name] = undefined;
    for (const [name] of props) if (out[name] === undefined) delete out[name];
    if (roll === 8) out[`extra${extra.length}`] = extra;
    return out;
  });
}

const parameterValue = (p: Parameter): fc.Arbitrary<string> =>
  valueFor(p.schema).map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? '')));

const caseFor = (o: (typeof operations)[number]) => {
  const params = o.op.parameters ?? [];
  const bodySchema = o.op.requestBody?.content['application/json']?.schema;
  return fc.record({
    path: fc.tuple(
      ...params
        .filter((p) => p.in === 'path')
        .map((p) => parameterValue(p).map((v) => [p.name, v] as const)),
      fc.constant(['', ''] as const),
    ),
    query: fc.array(
      fc
        .constantFrom(...params.filter((p) => p.in === 'query'), {
          in: 'query',
          name: 'unknown',
          schema: {},
        } as Parameter)
        .chain((p) => parameterValue(p).map((v) => [p.name, v] as const)),
      { maxLength: 3 },
    ),
    key: fc.constantFrom(
      'none',
      'garbage',
      'admin',
      'operator',
      'investor',
      'otherInvestor',
      'borrower',
    ),
    idempotencyKey: fc.oneof(
      fc.constant(undefined),
      fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/),
      hostileString,
    ),
    body: bodySchema
      ? fc.oneof(
          { arbitrary: valueFor(bodySchema), weight: 9 },
          { arbitrary: fc.constant('not json {'), weight: 1 },
        )
      : fc.constant(undefined),
    textPlain: fc.nat({ max: 19 }).map((n) => n === 0),
  });
};

const ajv = new Ajv({ allErrors: false });

it(`${RUNS} requests drawn from the OpenAPI document: never a 5xx, never an undeclared status or body (seed ${SEED})`, async () => {
  const statuses = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(
      fc
        .nat({ max: operations.length - 1 })
        .chain((i) => caseFor(operations[i]).map((c) => ({ i, c }))),
      async ({ i, c }) => {
        const o = operations[i];
        let url = o.path;
        for (const [name, value] of c.path)
          if (name) url = url.replace(`{${name}}`, encodeURIComponent(value));
        const query = c.query
          .map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`)
          .join('&');
        const headers: Record<string, string> = {};
        if (c.key === 'garbage')
          headers.authorization = 'Bearer lck_0123456789abcdef_' + 'x'.repeat(43);
        else if (c.key !== 'none') headers.authorization = `Bearer ${keys[c.key]}`;
        if (c.idempotencyKey !== undefined)
          headers['idempotency-key'] = c.idempotencyKey.replace(/[^\x20-\x7e]/g, '');
        const hasBody = c.body !== undefined && o.method !== 'get' && o.method !== 'delete';
        if (hasBody) headers['content-type'] = c.textPlain ? 'text/plain' : 'application/json';
        const res = await app.inject({
          method: o.method.toUpperCase() as 'GET',
          url: query ? `${url}?${query}` : url,
          headers,
          ...(hasBody
            ? { payload: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) }
            : {}),
        });
        const declared = o.op.responses[String(res.statusCode)];
        const schema = declared?.content?.['application/json']?.schema;
        const body = res.headers['content-type']?.toString().startsWith('application/json')
          ? res.json()
          : res.body;
        const where = `${o.method.toUpperCase()} ${url}${query ? `?${query}` : ''} → ${res.statusCode} ${res.body.slice(0, 300)}`;
        statuses.set(String(res.statusCode), (statuses.get(String(res.statusCode)) ?? 0) + 1);
        if (res.statusCode >= 500) throw new Error(`a 5xx: ${where}`);
        if (!declared)
          throw new Error(
            `status not declared by ${o.method.toUpperCase()} ${o.path} (declared: ${Object.keys(o.op.responses).join(', ')}): ${where}`,
          );
        if (schema && !ajv.validate(schema, body))
          throw new Error(`body not of its declared schema (${ajv.errorsText()}): ${where}`);
      },
    ),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  if (process.env.FUZZ_VERBOSE) console.log(Object.fromEntries(statuses));
  // The run reached past the edges too, not only refusals.
  const ok = [...statuses].filter(([s]) => s.startsWith('2')).reduce((a, [, n]) => a + n, 0);
  expect(ok).toBeGreaterThan(RUNS / 50);
  expect(statuses.get('401')).toBeGreaterThan(0);
  expect(statuses.get('422') ?? statuses.get('400')).toBeGreaterThan(0);
}, 300_000);
