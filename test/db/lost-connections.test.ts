// Postgres going away under a live pool (a restart, `pg_ctl -m immediate`, a failover,
// pg_terminate_backend) must not end the process: found by the chaos suite's pg-restart step
// (docs/reliability.md), where an idle client's 'error' event, re-emitted by the pool with nobody
// listening, killed the API, the worker, the dispatcher and the chaos process alike. The statement
// in flight fails with a connection error; the pool opens new connections once the server is back.
import type { Pool } from 'pg';
import { createPool, inTransaction } from '../../db/pool';
import { isDatabaseUnavailable } from '../../db/errors';
import { PgProxy } from '../helpers/pg-proxy';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();
let proxy: PgProxy;
let pool: Pool;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => {
  uncaught.push(err);
};
let warn: jest.SpyInstance;

beforeAll(async () => {
  await db.pool.query('CREATE TABLE lost_connection_probe (id int PRIMARY KEY)');
  proxy = await PgProxy.start(db.url);
  // As the processes' pools: the application role's own login.
  pool = createPool({
    connectionString: proxy.through(db.appUrl),
    schema: db.schema,
    max: 3,
    applicationName: 'lost-connections',
  });
  process.on('uncaughtException', onUncaught);
  warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  warn.mockRestore();
  await pool?.end().catch(() => undefined);
  await proxy?.close();
});
afterEach(() => expect(uncaught).toEqual([]));

/** Fails with an error the API answers 503 to (db/errors.ts isDatabaseUnavailable). */
async function expectUnavailable(work: Promise<unknown>): Promise<void> {
  const err = await work.then(
    () => new Error('it succeeded'),
    (e: unknown) => e,
  );
  expect({
    unavailable: isDatabaseUnavailable(err),
    message: (err as Error).message,
  }).toMatchObject({ unavailable: true });
}

const settle = () => new Promise((r) => setTimeout(r, 200));

it('idle connections cut by the server: the process goes on, and the pool reconnects', async () => {
  await Promise.all([
    pool.query('SELECT pg_sleep(0.05)'),
    pool.query('SELECT pg_sleep(0.05)'),
    pool.query('SELECT 1'),
  ]);
  expect(pool.idleCount).toBeGreaterThan(0);
  await proxy.cut();
  await settle();
  expect(pool.idleCount).toBe(0); // the dead clients were dropped, not handed out again
  expect(warn.mock.calls.map((c) => String(c[0]))).toContainEqual(
    expect.stringContaining('"msg":"postgres connection lost","pool":"lost-connections"'),
  );
  await expectUnavailable(pool.query('SELECT 1')); // down: refused
  await proxy.resume();
  await expect(pool.query('SELECT 2 AS n')).resolves.toMatchObject({ rows: [{ n: 2 }] });
});

it('a transaction whose connection dies: it fails with a connection error, commits nothing, and the next one works', async () => {
  let inside!: () => void;
  const started = new Promise<void>((r) => {
    inside = r;
  });
  const tx = inTransaction(pool, async (c) => {
    await c.query('INSERT INTO lost_connection_probe (id) VALUES (1)');
    inside();
    await new Promise((r) => setTimeout(r, 300)); // the server goes away here
    await c.query('INSERT INTO lost_connection_probe (id) VALUES (2)');
  });
  await started;
  await proxy.cut();
  await expectUnavailable(tx);
  await proxy.resume();
  await inTransaction(pool, (c) => c.query('INSERT INTO lost_connection_probe (id) VALUES (3)'));
  const { rows } = await db.pool.query<{ id: number }>(
    'SELECT id FROM lost_connection_probe ORDER BY id',
  );
  expect(rows.map((r) => r.id)).toEqual([3]);
});

it('connections the server terminates itself (pg_terminate_backend, FATAL 57P01): the process goes on', async () => {
  const client = await pool.connect(); // checked out, idle in between statements
  await pool.query('SELECT 1'); // and one idle in the pool
  await db.pool.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lost-connections' AND datname = current_database()`,
  );
  await settle();
  await expectUnavailable(client.query('SELECT 1'));
  client.release();
  await expect(pool.query('SELECT 3 AS n')).resolves.toMatchObject({ rows: [{ n: 3 }] });
});
