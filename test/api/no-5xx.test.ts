// Issue 16 item 6: inputs that gave a 500 give a coded 4xx, with nothing written: a NUL character
// in a string field, a gateway notification with signature headers and no body, a statement
// cursor past the database's integer range, and a loan in a currency the platform cannot settle.
import { signNotification, unixSeconds } from '../../gateway/signing';
import { SECRET } from '../gateway/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { ADMIN_KEY, useTestApi } from './helpers';

const db = useTestDatabase();
const api = useTestApi(db, { gatewaySecret: SECRET });
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const count = async (table: string) =>
  (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

it('a NUL character in any string field is a 400 with nothing written', async () => {
  const before = await count('parties');
  for (const payload of [
    {
      id: 'nul-b',
      name: 'Borrower',
      bankAccount: { accountNo: '6222020000000001', accountName: 'Nu\u0000ll', bankCode: 'ICBC' },
    },
    { id: 'nul-b2', name: 'Bo\u0000rrower' },
  ]) {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/borrowers',
      headers: { ...admin, 'idempotency-key': `nul-${payload.id}` },
      payload,
    });
    expect([res.statusCode, res.json().error.code]).toEqual([400, 'INVALID_REQUEST']);
  }
  expect(await count('parties')).toBe(before);
});

it('a gateway notification with signature headers and no body is a 400', async () => {
  const timestamp = String(unixSeconds(Date.now()));
  for (const payload of ['', undefined]) {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/gateway/notifications',
      payload,
      headers: {
        'content-type': 'application/json',
        'x-gateway-timestamp': timestamp,
        'x-gateway-signature': signNotification(SECRET, timestamp, ''),
      },
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
  }
});

it('a statement cursor past the integer range is a 400', async () => {
  await api.app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'cursor-i' },
    payload: { id: 'cursor-i', name: 'Cursor' },
  });
  const res = await api.app.inject({
    method: 'GET',
    url: '/v1/investors/cursor-i/statement?after=9999999999999999999',
    headers: admin,
  });
  expect(res.statusCode).toBe(400);
  const fine = await api.app.inject({
    method: 'GET',
    url: '/v1/investors/cursor-i/statement?after=999999999999999999',
    headers: admin,
  });
  expect(fine.statusCode).toBe(200);
});

it('a loan in a currency the platform cannot settle is refused when it is created (422), nothing written', async () => {
  await api.app.inject({
    method: 'POST',
    url: '/v1/borrowers',
    headers: { ...admin, 'idempotency-key': 'cur-b' },
    payload: { id: 'cur-b', name: 'Borrower' },
  });
  const before = await count('loans');
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/loans',
    headers: { ...admin, 'idempotency-key': 'cur-loan' },
    payload: {
      id: 'cur-loan',
      borrowerId: 'cur-b',
      principal: '1000.00',
      currency: 'USD',
      annualRate: '0.08',
      termMonths: 3,
      repaymentMethod: 'equal_installment',
      subscriptionDeadline: new Date(Date.now() + 3_600_000).toISOString(),
      feeRate: '0.01',
    },
  });
  expect([res.statusCode, res.json().error.code]).toEqual([422, 'CURRENCY_NOT_SETTLED']);
  expect(await count('loans')).toBe(before);
});
