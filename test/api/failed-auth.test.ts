// Issue 16 item 3 (first part): failed authentication is limited per address before any database
// work. Past the limit an address is answered 429 with Retry-After without a key lookup, another
// address is not affected, and the flood is counted and alerted.
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { useTestDatabase } from '../helpers/postgres';
import { ADMIN_KEY } from './helpers';

const db = useTestDatabase();
let app: FastifyInstance;
const logged: string[] = [];
beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _enc, done) {
      logged.push(String(chunk));
      done();
    },
  });
  app = await buildApp({
    pool: db.pool,
    adminApiKey: ADMIN_KEY,
    failedAuthLimits: { maxFailures: 5, windowMs: 60_000, alertAt: 8, maxAddresses: 100 },
    logger: { level: 'warn', stream },
  });
  await app.ready();
});
afterAll(() => app.close());

const bad = { authorization: `Bearer lck_0123456789abcdef_${'A'.repeat(43)}` };
const from = (remoteAddress: string, headers: Record<string, string>) =>
  app.inject({ method: 'GET', url: '/v1/ledger/trial-balance', headers, remoteAddress });

it('refuses an address that keeps failing with 429 before any key lookup, alerts once, and leaves other addresses alone', async () => {
  for (let i = 0; i < 5; i++) expect((await from('10.0.0.1', bad)).statusCode).toBe(401);
  const query = jest.spyOn(db.pool, 'query');
  try {
    for (let i = 0; i < 5; i++) {
      const res = await from('10.0.0.1', bad);
      expect([res.statusCode, res.json().error.code]).toEqual([
        429,
        'TOO_MANY_FAILED_AUTHENTICATIONS',
      ]);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(query).not.toHaveBeenCalled(); // the flood costs no database work
  } finally {
    query.mockRestore();
  }
  // Even a good key from that address waits out the window; another address is served.
  expect((await from('10.0.0.1', { authorization: `Bearer ${ADMIN_KEY}` })).statusCode).toBe(429);
  expect((await from('10.0.0.2', { authorization: `Bearer ${ADMIN_KEY}` })).statusCode).toBe(200);
  expect((await from('10.0.0.2', bad)).statusCode).toBe(401);

  expect(logged.filter((l) => l.includes('failed_authentication_flood'))).toHaveLength(1);
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  expect(metrics).toMatch(/api_failed_auth_refused_total 6/);
});

it('behind a trusted proxy counts the client it forwards, not the proxy: one flooding client does not shut out the rest', async () => {
  const proxied = await buildApp({
    pool: db.pool,
    adminApiKey: ADMIN_KEY,
    failedAuthLimits: { maxFailures: 5, windowMs: 60_000, alertAt: 100, maxAddresses: 100 },
    trustProxy: '10.9.0.0/16',
  });
  try {
    const via = (client: string, headers: Record<string, string>, proxy = '10.9.0.7') =>
      proxied.inject({
        method: 'GET',
        url: '/v1/ledger/trial-balance',
        headers: { ...headers, 'x-forwarded-for': client },
        remoteAddress: proxy,
      });
    for (let i = 0; i < 6; i++) await via('203.0.113.5', bad);
    expect((await via('203.0.113.5', bad)).statusCode).toBe(429);
    const good = { authorization: `Bearer ${ADMIN_KEY}` };
    expect((await via('198.51.100.9', good)).statusCode).toBe(200);
    // an address that is not a trusted proxy cannot name another client
    for (let i = 0; i < 6; i++) await via('198.51.100.9', bad, '192.0.2.1');
    expect((await via('198.51.100.9', good)).statusCode).toBe(200);
  } finally {
    await proxied.close();
  }
});
