// Issue 16 item 7: what Node's HTTP parser refuses before any route (found by the verification on
// a real socket, which app.inject cannot reach) is answered in the API's error shape, and every
// route's document declares it: a URL too long 414, headers too large 431.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { useTestDatabase } from '../helpers/postgres';
import { ADMIN_KEY } from './helpers';

const db = useTestDatabase();
let app: FastifyInstance;
let base = '';
beforeAll(async () => {
  app = await buildApp({ pool: db.pool, adminApiKey: ADMIN_KEY });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => app.close());

const auth = { authorization: `Bearer ${ADMIN_KEY}` };

it('answers a URL too long 414 and headers too large 431, in the error shape, both declared', async () => {
  const longUrl = await fetch(`${base}/v1/loans/${'a'.repeat(20_000)}`, { headers: auth });
  expect({ status: longUrl.status, body: await longUrl.json() }).toMatchObject({
    status: 414,
    body: { error: { code: 'URI_TOO_LONG', details: {} } },
  });
  const bigHeaders = await fetch(`${base}/v1/ledger/trial-balance`, {
    headers: { ...auth, 'x-padding': 'p'.repeat(20_000) },
  });
  expect({ status: bigHeaders.status, body: await bigHeaders.json() }).toMatchObject({
    status: 431,
    body: { error: { code: 'HEADERS_TOO_LARGE', details: {} } },
  });
  // the API is still serving
  expect((await fetch(`${base}/v1/ledger/trial-balance`, { headers: auth })).status).toBe(200);
  const doc = (await (await fetch(`${base}/v1/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  };
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods))
      expect({
        route: `${method} ${path}`,
        has: ['414', '431'].map((s) => s in op.responses),
      }).toEqual({
        route: `${method} ${path}`,
        has: [true, true],
      });
});
