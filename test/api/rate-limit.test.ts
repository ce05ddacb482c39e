// A flood from one key, or without a key from one address, is answered 429 with Retry-After,
// without starving the others.
import { useTestDatabase } from '../helpers/postgres';
import { useTestApi } from './helpers';

const db = useTestDatabase();
const api = useTestApi(db, { rateLimitPerMinute: 20 });

it('limits per key with 429 and Retry-After', async () => {
  const flooder = { authorization: `Bearer ${await api.operatorKey()}` };
  const other = { authorization: `Bearer ${await api.operatorKey()}` };
  const statuses: number[] = [];
  let limited;
  for (let i = 0; i < 25; i++) {
    const res = await api.app.inject({
      method: 'GET',
      url: '/v1/ledger/trial-balance',
      headers: flooder,
    });
    statuses.push(res.statusCode);
    if (res.statusCode === 429) limited = res;
  }
  expect(statuses.filter((s) => s === 200)).toHaveLength(20);
  expect(limited?.headers['retry-after']).toBeDefined();
  expect(limited?.json().error.code).toBe('RATE_LIMITED');
  expect(
    (await api.app.inject({ method: 'GET', url: '/v1/ledger/trial-balance', headers: other }))
      .statusCode,
  ).toBe(200);
});

it('limits what comes without a key per address: a flood on a public route from one address is 429, another address is served', async () => {
  const from = (ip: string) =>
    api.app.inject({ method: 'GET', url: '/healthz', remoteAddress: ip });
  const statuses: number[] = [];
  for (let i = 0; i < 25; i++) statuses.push((await from('10.0.0.7')).statusCode);
  expect(statuses.filter((s) => s === 200)).toHaveLength(20);
  const limited = await from('10.0.0.7');
  expect(limited.statusCode).toBe(429);
  expect(limited.headers['retry-after']).toBeDefined();
  expect((await from('10.0.0.8')).statusCode).toBe(200);
});
