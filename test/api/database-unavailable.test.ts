// While Postgres is down or restarting (the chaos suite's pg-restart step) the API says so: a 503
// DATABASE_UNAVAILABLE with Retry-After, never a bare 500 "internal error", and it stores nothing,
// so the same request with the same Idempotency-Key succeeds once the database is back.
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { buildApp } from '../../api/app';
import { createPool } from '../../db/pool';
import { isDatabaseUnavailable } from '../../db/errors';
import { LedgerError } from '../../ledger/errors';
import { PgProxy } from '../helpers/pg-proxy';
import { useTestDatabase } from '../helpers/postgres';
import { ADMIN_KEY } from './helpers';

const db = useTestDatabase();
let proxy: PgProxy;
let pool: Pool;
let app: FastifyInstance;
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

beforeAll(async () => {
  proxy = await PgProxy.start(db.url);
  pool = createPool({
    connectionString: proxy.through(db.appUrl),
    schema: db.schema,
    max: 4,
    applicationName: 'api-db-down',
  });
  app = await buildApp({ pool, adminApiKey: ADMIN_KEY });
  await app.ready();
  jest.spyOn(console, 'warn').mockImplementation(() => undefined); // "postgres connection lost"
});
afterAll(async () => {
  await app?.close();
  await pool?.end().catch(() => undefined);
  await proxy?.close();
  jest.restoreAllMocks();
});

it('answers 503 DATABASE_UNAVAILABLE with Retry-After while the database is down, and the same request succeeds after', async () => {
  expect(
    (
      await app.inject({
        method: 'POST',
        url: '/v1/investors',
        headers: { ...admin, 'idempotency-key': 'up-1' },
        payload: { id: 'ana', name: 'Ana' },
      })
    ).statusCode,
  ).toBe(201);
  const key = await app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: admin,
    payload: { role: 'investor:ana' },
  });
  expect(key.statusCode).toBe(201);
  const ana = { authorization: `Bearer ${key.json<{ key: string }>().key}` };
  await proxy.cut(); // the pool's connections end, new ones are refused

  const create = () =>
    app.inject({
      method: 'POST',
      url: '/v1/investors',
      headers: { ...admin, 'idempotency-key': 'down-1' },
      payload: { id: 'dora', name: 'Dora' },
    });
  for (const res of [
    await create(), // the route's own transaction
    // authentication reads the key
    await app.inject({ method: 'GET', url: '/v1/investors/ana/balance', headers: ana }),
    await app.inject({ method: 'GET', url: '/healthz' }),
  ]) {
    expect({
      status: res.statusCode,
      code: res.json<{ error: { code: string } }>().error.code,
    }).toEqual({ status: 503, code: 'DATABASE_UNAVAILABLE' });
  }
  expect((await create()).headers['retry-after']).toBe('1');

  await proxy.resume();
  const res = await create();
  // nothing was stored for the refused attempts: not a replay of a 503
  expect(res.statusCode).toBe(201);
  expect(res.headers['idempotent-replayed']).not.toBe('true');
  expect(
    (await app.inject({ method: 'GET', url: '/v1/investors/ana/balance', headers: ana }))
      .statusCode,
  ).toBe(200);
});

it('tells a database that is away from an error of the request or of the code', () => {
  const pg = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  for (const err of [
    pg('57P01', 'terminating connection due to administrator command'),
    pg('57P02'),
    pg('57P03', 'the database system is starting up'),
    pg('08006'),
    pg('ECONNREFUSED'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    new Error('Client has encountered a connection error and is not queryable'),
    new Error('wrapped', { cause: pg('ECONNRESET') }),
  ])
    expect({ err: String(err), unavailable: isDatabaseUnavailable(err) }).toEqual({
      err: String(err),
      unavailable: true,
    });
  for (const err of [
    pg('23505'),
    pg('40001'),
    pg('57014', 'canceling statement due to statement timeout'),
    new LedgerError('INSUFFICIENT_FUNDS', 'no'),
    new Error('boom'),
    undefined,
    'text',
  ]) {
    expect({ err: String(err), unavailable: isDatabaseUnavailable(err) }).toEqual({
      err: String(err),
      unavailable: false,
    });
  }
});
