// A flood from one key is answered 429 with Retry-After, without starving other keys.
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
    const res = await api.app.inject({ method: 'GET', url: '/v1/ledger/trial-balance', headers: flooder });
    statuses.push(res.statusCode);
    if (res.statusCode === 429) limited = res;
  }
  expect(statuses.filter((s) => s === 200)).toHaveLength(20);
  expect(limited?.headers['retry-after']).toBeDefined();
  expect(limited?.json().error.code).toBe('RATE_LIMITED');
  expect((await api.app.inject({ method: 'GET', url: '/v1/ledger/trial-balance', headers: other })).statusCode).toBe(200);
});
