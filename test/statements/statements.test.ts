// Issue 19 item 6: statements. An investor's portfolio projects each installment still to come by
// the distribution's own cumulative rule, so what it expects on the day the loan is funded is what
// each investor is then given, installment by installment, and received plus expected is exactly
// their principal. A borrower sees the schedule, what was paid and what is due. JSON and CSV; the
// party or an operator only.
import { drainOutbox } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import { admin, operatorHeaders, useOutcomeWorld } from '../outcomes/helpers';
import {
  borrowerId,
  investorId,
  openAndFillLoan,
  until,
  type LoanPlan,
} from '../repayments/helpers';

const world = useOutcomeWorld({ poolSize: 10 });
const { db } = world;

const plan: LoanPlan = {
  id: 'st1',
  holdings: [100_001n, 200_002n, 300_007n],
  termMonths: 3,
  repaymentMethod: 'equal_installment',
  intervalSeconds: 6,
};

interface Expected {
  n: number;
  dueDate: string;
  principal: string;
  interest: string;
}
interface PortfolioHolding {
  loanId: string;
  holding: string;
  principalReceived: string;
  interestReceived: string;
  principalOutstanding: string;
  expected: Expected[];
}

const keyOf = async (role: string) =>
  `Bearer ${(await world.app.inject({ method: 'POST', url: '/v1/api-keys', headers: admin, payload: { role } })).json().key}`;
const get = (url: string, authorization: string, accept?: string) =>
  world.app.inject({
    method: 'GET',
    url,
    headers: { authorization, ...(accept ? { accept } : {}) },
  });
const cents = (s: string) => BigInt(s.replace('.', ''));
const loanStatus = async () =>
  (await db.pool.query(`SELECT status FROM loans WHERE id = $1`, [plan.id])).rows[0]?.status;

it("projects each investor's receipts by the distribution's own rule: what is expected when funded is what each is given, and received plus expected is their principal", async () => {
  await openAndFillLoan(world.app, db, plan);
  await drainOutbox(world.dispatcher, db);
  await until(loanStatus, (s) => s === 'REPAYING' || s === 'CLOSED', 60_000);
  const investors = plan.holdings.map((_h, i) => investorId(plan, i));
  const keys = await Promise.all(investors.map((id) => keyOf(`investor:${id}`)));

  // Funded, nothing distributed yet: the whole schedule is expected.
  const before: PortfolioHolding[] = [];
  for (const [i, id] of investors.entries()) {
    const res = await get(`/v1/investors/${id}/portfolio`, keys[i]);
    expect(res.statusCode).toBe(200);
    const [h] = res.json().holdings as PortfolioHolding[];
    before.push(h);
    expect(h.loanId).toBe(plan.id);
    expect(cents(h.holding)).toBe(plan.holdings[i]);
    const expectedPrincipal = h.expected.reduce((a, e) => a + cents(e.principal), 0n);
    expect(cents(h.principalReceived) + expectedPrincipal).toBe(plan.holdings[i]);
    expect(cents(h.principalOutstanding)).toBe(plan.holdings[i] - cents(h.principalReceived));
  }
  const borrowerKey = await keyOf(`borrower:${borrowerId(plan)}`);
  const early = (await get(`/v1/borrowers/${borrowerId(plan)}/loans`, borrowerKey)).json();
  expect(early[0]).toMatchObject({ loanId: plan.id, paid: '0.00', dueNow: '0.00' });
  expect(early[0].schedule).toHaveLength(plan.termMonths);

  await until(loanStatus, (s) => s === 'CLOSED', 120_000);
  // Each investor was given, installment by installment, exactly what was projected.
  const { rows } = await db.pool.query(
    `SELECT investor_id, n, principal_minor::text, interest_minor::text FROM repayment_shares
      WHERE loan_id = $1 ORDER BY investor_id, n`,
    [plan.id],
  );
  for (const [i, id] of investors.entries()) {
    const given = rows
      .filter((r) => r.investor_id === id)
      .map((r) => [r.n, BigInt(r.principal_minor), BigInt(r.interest_minor)]);
    const projected = before[i].expected.map((e) => [e.n, cents(e.principal), cents(e.interest)]);
    const ahead = new Set(projected.map(([n]) => n));
    expect(ahead.size).toBeGreaterThan(0);
    // (a loaded machine may have distributed the first before the snapshot; a share with nothing
    // in it is not recorded)
    expect(given.filter(([n]) => ahead.has(n))).toEqual(
      projected.filter(([, p, q]) => p !== 0n || q !== 0n),
    );
    const after = (await get(`/v1/investors/${id}/portfolio`, keys[i])).json().holdings[0];
    expect(after).toMatchObject({ principalOutstanding: '0.00', expected: [] });
    expect(cents(after.principalReceived)).toBe(plan.holdings[i]);
  }
  const closed = (await get(`/v1/borrowers/${borrowerId(plan)}/loans`, borrowerKey)).json()[0];
  const scheduled = closed.schedule.reduce(
    (a: bigint, r: { principal: string; interest: string }) =>
      a + cents(r.principal) + cents(r.interest),
    0n,
  );
  expect({ status: closed.status, paid: cents(closed.paid), dueNow: closed.dueNow }).toEqual({
    status: 'CLOSED',
    paid: scheduled,
    dueNow: '0.00',
  });

  // CSV: one row per holding, one per installment.
  const csv = await get(`/v1/investors/${investors[0]}/portfolio`, keys[0], 'text/csv');
  expect(csv.headers['content-type']).toMatch(/^text\/csv/);
  const lines = csv.body.trim().split('\n');
  expect(lines[0]).toBe(
    'loanId,status,currency,holding,principalReceived,interestReceived,principalOutstanding,expectedPrincipal,expectedInterest,nextDueDate',
  );
  expect(lines[1]).toMatch(new RegExp(`^${plan.id},CLOSED,CNY,1000.01,1000.01,`));
  const loansCsv = await get(`/v1/borrowers/${borrowerId(plan)}/loans`, borrowerKey, 'text/csv');
  expect(loansCsv.body.trim().split('\n')).toHaveLength(1 + plan.termMonths);
  await expectLedgerConsistent(db.pool);
}, 240_000);

it("answers another party's statement 404 and an operator's 200", async () => {
  const stranger = await keyOf(`investor:${investorId(plan, 1)}`);
  expect((await get(`/v1/investors/${investorId(plan, 0)}/portfolio`, stranger)).statusCode).toBe(
    404,
  );
  expect((await get(`/v1/borrowers/${borrowerId(plan)}/loans`, stranger)).statusCode).toBe(403);
  const operator = (await operatorHeaders(world.app)).authorization;
  expect((await get(`/v1/investors/${investorId(plan, 0)}/portfolio`, operator)).statusCode).toBe(
    200,
  );
  expect((await get(`/v1/borrowers/nobody/loans`, operator)).statusCode).toBe(404);
});
