// Issue 15, item 12(a): a fee rate with more decimals than its column keeps (numeric(8, 6)) is
// refused at the edge, 422, nothing written, instead of being rounded by Postgres on the way in.
import { ADMIN_KEY, useTestApi } from '../api/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { workflowIds } from '../../ids/workflow-ids';

const db = useTestDatabase();
const api = useTestApi(db);
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

beforeAll(async () => {
  await api.partyKey('borrower', 'fr-bor');
});

const createLoan = (id: string, rates: { feeRate?: string; interestFeeRate?: string }) =>
  api.app.inject({
    method: 'POST',
    url: '/v1/loans',
    headers: { ...admin, 'idempotency-key': workflowIds.loan(id) },
    payload: {
      id,
      borrowerId: 'fr-bor',
      principal: '1000.00',
      annualRate: '0.12',
      termMonths: 3,
      repaymentMethod: 'equal_principal',
      subscriptionDeadline: new Date(Date.now() + 600_000).toISOString(),
      ...rates,
    },
  });
const loanRows = async (id: string) =>
  (
    await db.pool.query('SELECT fee_rate::text, interest_fee_rate::text FROM loans WHERE id = $1', [
      id,
    ])
  ).rows;

it.each([
  ['interestFeeRate', { interestFeeRate: '0.1234567' }],
  ['feeRate', { feeRate: '0.0000001' }],
])('refuses a %s with more decimals than the column keeps: 422, no loan', async (field, rates) => {
  const id = `fr-${field}`;
  const res = await createLoan(id, rates);
  expect(res.statusCode).toBe(422);
  expect(res.json().error).toMatchObject({
    code: 'RATE_TOO_MANY_DECIMALS',
    details: { field, decimals: 6 },
  });
  expect(await loanRows(id)).toEqual([]);
  expect(
    (
      await db.pool.query('SELECT count(*)::int AS n FROM outbox WHERE workflow_id = $1', [
        workflowIds.loan(id),
      ])
    ).rows[0].n,
  ).toBe(0);
});

it('keeps a fee rate of exactly six decimals as given (trailing zeros are not decimals)', async () => {
  const res = await createLoan('fr-ok', { feeRate: '0.0123450000', interestFeeRate: '0.123456' });
  expect(res.statusCode).toBe(201);
  expect(await loanRows('fr-ok')).toEqual([
    { fee_rate: '0.012345', interest_fee_rate: '0.123456' },
  ]);
});
