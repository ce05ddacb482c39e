// Issue 19 item 7: limits. An investor's holding of one loan is capped inside the reservation
// statement (two requests at once cannot both fit), and withdrawals are capped per payout, per UTC
// day and month where their hold is taken. A refusal is a coded 409 with the limit and what still
// fits, nothing written. Operators see the limits; an admin changes one, audited.
import { ADMIN_KEY, operatorHeaders, useTestApi } from '../api/helpers';
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor } from '../helpers/stack';
import { ACCOUNT } from '../gateway/helpers';
import { expectLedgerConsistent } from '../ledger/helpers';

const db = useTestDatabase({ poolSize: 20 });
const api = useTestApi(db);
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

afterEach(() => expectLedgerConsistent(db.pool));

async function post(url: string, payload: object, headers: object = admin, key?: string) {
  return api.app.inject({
    method: 'POST',
    url,
    headers: { ...headers, ...(key ? { 'idempotency-key': key } : {}) },
    payload,
  });
}
async function investor(id: string) {
  const key = await api.partyKey('investor', id);
  await fundInvestor(db, id, 1_000_000n);
  return { authorization: `Bearer ${key}` };
}
const setLimit = (name: string, amount: string | null) =>
  post(`/v1/limits/${name}`, { amount, reason: 'risk committee' });

it('caps what one investor holds of a loan inside the reservation: two at once cannot both fit; operators see the limit, an admin changes it, audited', async () => {
  const operator = await operatorHeaders(api.app);
  const listed = await api.app.inject({ method: 'GET', url: '/v1/limits', headers: operator });
  expect(listed.json().map((l: { name: string; amount: null }) => [l.name, l.amount])).toEqual([
    ['subscription_per_investor_per_loan', null],
    ['withdrawal_daily', null],
    ['withdrawal_max', null],
    ['withdrawal_monthly', null],
  ]);
  const byOperator = await post(
    '/v1/limits/subscription_per_investor_per_loan',
    { amount: '1.00', reason: 'mine' },
    operator,
  );
  expect(byOperator.statusCode).toBe(403);
  const set = await setLimit('subscription_per_investor_per_loan', '300.00');
  expect(set.json()).toMatchObject({ amount: '300.00', changedBy: 'admin:admin-env' });
  const { rows: audit } = await db.pool.query(
    `SELECT details FROM audit_log WHERE action = 'limit.changed'`,
  );
  expect(audit.map((r) => r.details)).toEqual([{ from: null, to: '30000' }]);

  await post('/v1/borrowers', { id: 'lm-bor', name: 'Borrower' }, admin, 'lm-bor');
  const loan = await post(
    '/v1/loans',
    {
      id: 'lm1',
      borrowerId: 'lm-bor',
      principal: '5000.00',
      annualRate: '0.08',
      termMonths: 3,
      repaymentMethod: 'equal_installment',
      subscriptionDeadline: new Date(Date.now() + 600_000).toISOString(),
      feeRate: '0.01',
    },
    admin,
    'lm1',
  );
  expect(loan.statusCode).toBe(201);
  const ann = await investor('lm-ann');
  const subscribe = (who: object, id: string, amount: string, key: string) =>
    post('/v1/loans/lm1/subscriptions', { investorId: id, amount }, who, key);
  expect((await subscribe(ann, 'lm-ann', '200.00', 'a1')).statusCode).toBe(201);
  const over = await subscribe(ann, 'lm-ann', '200.00', 'a2');
  expect({ status: over.statusCode, error: over.json().error }).toMatchObject({
    status: 409,
    error: { code: 'INVESTOR_LIMIT', details: { limit: '300.00', remaining: '100.00' } },
  });
  expect((await subscribe(ann, 'lm-ann', '100.00', 'a3')).statusCode).toBe(201);

  // Ten of one investor's requests at once: three fit under the cap, exactly.
  const ben = await investor('lm-ben');
  const burst = await Promise.all(
    Array.from({ length: 10 }, (_x, i) => subscribe(ben, 'lm-ben', '100.00', `b${i}`)),
  );
  expect(burst.map((r) => r.statusCode).sort()).toEqual([201, 201, 201, ...Array(7).fill(409)]);
  const { rows } = await db.pool.query(
    `SELECT investor_id, sum(amount_minor)::text AS held FROM subscriptions WHERE loan_id = 'lm1' GROUP BY 1 ORDER BY 1`,
  );
  expect(rows).toEqual([
    { investor_id: 'lm-ann', held: '30000' },
    { investor_id: 'lm-ben', held: '30000' },
  ]);
  const remaining = (
    await api.app.inject({ method: 'GET', url: '/v1/loans/lm1', headers: operator })
  ).json().remaining;
  expect(remaining).toBe('4400.00');
  await setLimit('subscription_per_investor_per_loan', null);
  expect((await subscribe(ben, 'lm-ben', '1000.00', 'b-after')).statusCode).toBe(201);
});

it('caps withdrawals per payout and per UTC day where the hold is taken; a refusal writes nothing', async () => {
  const cy = await investor('lm-cy');
  const account = await putVerifiedAccountOnFile(db.pool, 'lm-cy', ACCOUNT);
  await setLimit('withdrawal_max', '1000.00');
  await setLimit('withdrawal_daily', '500.00');
  const withdraw = (amount: string, key: string) =>
    post('/v1/investors/lm-cy/withdrawals', { amount, bankAccountId: account }, cy, key);
  const payouts = async () =>
    (
      await db.pool.query(
        `SELECT 1 FROM payouts WHERE party_id = 'lm-cy' AND purpose = 'withdrawal'`,
      )
    ).rowCount;

  const big = await withdraw('1500.00', 'w1');
  expect({ status: big.statusCode, error: big.json().error }).toMatchObject({
    status: 409,
    error: { code: 'WITHDRAWAL_LIMIT', details: { limit: 'withdrawal_max', amount: '1000.00' } },
  });
  expect(await payouts()).toBe(0);
  expect((await withdraw('300.00', 'w2')).statusCode).toBe(202);
  const daily = await withdraw('300.00', 'w3');
  expect({ status: daily.statusCode, error: daily.json().error }).toMatchObject({
    status: 409,
    error: {
      code: 'WITHDRAWAL_LIMIT',
      details: { limit: 'withdrawal_daily', amount: '500.00', remaining: '200.00' },
    },
  });
  expect(await payouts()).toBe(1);
  // two at once with room for one: one goes, one is refused
  const both = await Promise.all([withdraw('150.00', 'w4'), withdraw('150.00', 'w5')]);
  expect(both.map((r) => r.statusCode).sort()).toEqual([202, 409]);
  await setLimit('withdrawal_daily', null);
  expect((await withdraw('300.00', 'w6')).statusCode).toBe(202);
  expect(await payouts()).toBe(3);
});
