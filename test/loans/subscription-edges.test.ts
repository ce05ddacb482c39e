// The subscription endpoint's edges: bad input never writes anything, and only the owner may act.
import { Ledger } from '../../ledger';
import { ADMIN_KEY, useTestApi } from '../api/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';

const db = useTestDatabase();
const api = useTestApi(db);
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
let alice: { authorization: string };
let bob: { authorization: string };

beforeAll(async () => {
  alice = { authorization: `Bearer ${await api.partyKey('investor', 'alice')}` };
  bob = { authorization: `Bearer ${await api.partyKey('investor', 'bob')}` };
  await fundInvestor(db, 'alice', 1_000_000n);
  await api.partyKey('borrower', 'acme');
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/loans',
    headers: { ...admin, 'idempotency-key': 'loan-edge' },
    payload: {
      id: 'edge',
      borrowerId: 'acme',
      principal: '5000.00',
      annualRate: '0.1',
      termMonths: 6,
      repaymentMethod: 'equal_principal',
      subscriptionDeadline: new Date(Date.now() + 3_600_000).toISOString(),
    },
  });
  expect(res.statusCode).toBe(201);
});

async function writes() {
  const { rows } = await db.pool
    .query(`SELECT (SELECT count(*) FROM subscriptions)::int AS subs, (SELECT count(*) FROM ledger_transactions)::int AS txns,
                                               (SELECT remaining_minor::text FROM loans WHERE id = 'edge') AS remaining`);
  return rows[0];
}

describe('bad input: 4xx with the error shape, nothing written', () => {
  it.each([
    ['a negative amount', { investorId: 'alice', amount: '-1' }, 'AMOUNT_NEGATIVE'],
    ['an exponent', { investorId: 'alice', amount: '1e3' }, 'AMOUNT_EXPONENT'],
    ['too many decimals', { investorId: 'alice', amount: '0.001' }, 'AMOUNT_TOO_MANY_DECIMALS'],
    ['NaN', { investorId: 'alice', amount: 'NaN' }, 'AMOUNT_NOT_A_NUMBER'],
    ['a number instead of a string', { investorId: 'alice', amount: 1000 }, 'INVALID_REQUEST'],
    [
      '10^30',
      { investorId: 'alice', amount: '1000000000000000000000000000000' },
      'AMOUNT_OUT_OF_RANGE',
    ],
    ['zero', { investorId: 'alice', amount: '0.00' }, 'AMOUNT_ZERO'],
    [
      'an unknown field',
      { investorId: 'alice', amount: '10.00', currency: 'USD' },
      'INVALID_REQUEST',
    ],
    ['SQL in the investor id', { investorId: "alice' OR '1'='1", amount: '10.00' }, 'INVALID_ID'],
    ['a missing amount', { investorId: 'alice' }, 'INVALID_REQUEST'],
  ])('%s', async (_label, payload, code) => {
    const before = await writes();
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/loans/edge/subscriptions',
      headers: { ...alice, 'idempotency-key': `bad-${_label.replace(/\W/g, '')}` },
      payload,
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.json()).toEqual({
      error: { code, message: expect.any(String), details: expect.any(Object) },
    });
    expect(await writes()).toEqual(before);
  });

  it('refuses SQL in the loan id, an oversized body, and a body that is not JSON', async () => {
    const before = await writes();
    const sqlId = await api.app.inject({
      method: 'POST',
      url: `/v1/loans/${encodeURIComponent("edge'; DELETE FROM loans;--")}/subscriptions`,
      headers: { ...alice, 'idempotency-key': 'sql-id' },
      payload: { investorId: 'alice', amount: '1.00' },
    });
    expect(sqlId.statusCode).toBe(422);
    expect(sqlId.json().error.code).toBe('INVALID_ID');
    const big = await api.app.inject({
      method: 'POST',
      url: '/v1/loans/edge/subscriptions',
      headers: { ...alice, 'idempotency-key': 'big' },
      payload: { investorId: 'alice', amount: '1'.repeat(70_000) },
    });
    expect(big.statusCode).toBe(413);
    const notJson = await api.app.inject({
      method: 'POST',
      url: '/v1/loans/edge/subscriptions',
      headers: { ...alice, 'idempotency-key': 'nj', 'content-type': 'application/json' },
      payload: '{"investorId": "alice", "amount": ',
    });
    expect(notJson.statusCode).toBe(400);
    expect(await writes()).toEqual(before);
  });

  it('answers insufficient funds and over-the-remaining with 409, nothing written', async () => {
    const before = await writes();
    const poor = await api.app.inject({
      method: 'POST',
      url: '/v1/loans/edge/subscriptions',
      headers: { ...bob, 'idempotency-key': 'poor' },
      payload: { investorId: 'bob', amount: '10.00' },
    });
    expect(poor.statusCode).toBe(409);
    expect(poor.json().error.code).toBe('INSUFFICIENT_FUNDS');
    const over = await api.app.inject({
      method: 'POST',
      url: '/v1/loans/edge/subscriptions',
      headers: { ...alice, 'idempotency-key': 'over' },
      payload: { investorId: 'alice', amount: '5000.01' },
    });
    expect(over.statusCode).toBe(409);
    expect(over.json().error).toMatchObject({
      code: 'LOAN_FULL',
      details: { remaining: '5000.00' },
    });
    expect(await writes()).toEqual(before);
  });
});

describe('who may do what', () => {
  it('401 without a key, 403 for the wrong role, 404 for acting as or looking at another investor', async () => {
    const body = { investorId: 'alice', amount: '10.00' };
    expect(
      (
        await api.app.inject({
          method: 'POST',
          url: '/v1/loans/edge/subscriptions',
          headers: { 'idempotency-key': 'a1' },
          payload: body,
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (
        await api.app.inject({
          method: 'POST',
          url: '/v1/loans/edge/subscriptions',
          headers: { ...admin, 'idempotency-key': 'a2' },
          payload: body,
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await api.app.inject({
          method: 'POST',
          url: '/v1/loans/edge/subscriptions',
          headers: { ...bob, 'idempotency-key': 'a3' },
          payload: body,
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (
        await api.app.inject({
          method: 'POST',
          url: '/v1/loans',
          headers: { ...alice, 'idempotency-key': 'a4' },
          payload: {},
        })
      ).statusCode,
    ).toBe(400);
    const mine = await api.app.inject({
      method: 'POST',
      url: '/v1/loans/edge/subscriptions',
      headers: { ...alice, 'idempotency-key': 'a5' },
      payload: body,
    });
    expect(mine.statusCode).toBe(201);
    const id = mine.json().subscriptionId;
    expect(
      (
        await api.app.inject({ method: 'GET', url: `/v1/subscriptions/${id}`, headers: alice })
      ).json(),
    ).toMatchObject({ status: 'RESERVED', amount: '10.00' });
    expect(
      (await api.app.inject({ method: 'GET', url: `/v1/subscriptions/${id}`, headers: bob }))
        .statusCode,
    ).toBe(404);
    expect(
      (
        await api.app.inject({
          method: 'GET',
          url: `/v1/subscriptions/${id}`,
          headers: { authorization: `Bearer ${await api.operatorKey()}` },
        })
      ).statusCode,
    ).toBe(200);
    expect((await new Ledger(db.pool).balance('investor:alice:available')).pendingDebits).toBe(
      1_000n,
    );
    await expectLedgerConsistent(db.pool);
  });
});
