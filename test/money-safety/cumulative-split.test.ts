// Issue 15, item 5: an installment is split among the investors cumulatively (the share of the
// cumulative total minus what the ledger already recorded for them), so over the loan's life each
// gets back exactly their principal and their pro-rata interest to within one minor unit. On the
// real Postgres, through the functions the Repayment workflow's activities call.
import fc from 'fast-check';
import { Ledger } from '../../ledger';
import { MoneyDecimal, parseRate, roundMinor, sum } from '../../ledger/money';
import { buildSchedule, REPAYMENT_METHODS, type RepaymentMethod } from '../../loans/schedule';
import { useTestDatabase } from '../helpers/postgres';
import { expectLedgerConsistent } from '../ledger/helpers';
import {
  collectAndDistribute,
  createRepayingLoan,
  FUNDS_MINOR,
  receivedByInvestor,
  type RepayingLoan,
} from './fixtures';

const db = useTestDatabase();

afterEach(() => expectLedgerConsistent(db.pool));

/**
 * Every installment collected and distributed, in order, or in `order` (a late installment is
 * distributed after later ones).
 */
async function repayWholeLife(loan: RepayingLoan, order?: number[]): Promise<void> {
  await createRepayingLoan(db.pool, loan);
  for (const n of order ?? Array.from({ length: loan.termMonths }, (_, k) => k + 1))
    await collectAndDistribute(db.pool, loan.id, n);
}

const three = (loanId: string, holdingMinor: bigint) =>
  ['a', 'b', 'c'].map((x) => ({ investorId: `${loanId}-${x}`, holdingMinor }));

// Split installment by installment, ties to the earliest investor, they got 4.08 / 3.96 / 3.96.
it('returns each of three investors holding 4.00 exactly 4.00 over 12 equal-principal installments', async () => {
  const loan: RepayingLoan = {
    id: 'cs-small',
    holdings: three('cs-small', 400n),
    termMonths: 12,
    repaymentMethod: 'equal_principal',
  };
  await repayWholeLife(loan);
  const received = await receivedByInvestor(db.pool, loan.id);
  expect([...received.values()].map((r) => r.principalMinor)).toEqual([400n, 400n, 400n]);
});

// Split installment by installment they got 10,000.08 / 10,000.08 / 9,999.84 (equal principal) and
// 10,000.14 / 9,999.97 / 9,999.89 (equal installment).
it.each(['equal_principal', 'equal_installment'] as const)(
  'returns each of three investors holding 10,000.00 exactly 10,000.00 over 36 installments (%s)',
  async (method) => {
    const loan: RepayingLoan = {
      id: `cs-big-${method}`,
      holdings: three(`cs-big-${method}`, 1_000_000n),
      termMonths: 36,
      repaymentMethod: method,
      interestFeeRate: '0.1',
    };
    await repayWholeLife(loan);
    const received = await receivedByInvestor(db.pool, loan.id);
    expect([...received.values()].map((r) => r.principalMinor)).toEqual([
      1_000_000n,
      1_000_000n,
      1_000_000n,
    ]);
    // Every investor's balance: what they had, plus exactly what the shares say (the ledger agrees
    // with the record).
    for (const [investorId, r] of received) {
      expect((await new Ledger(db.pool).balance(`investor:${investorId}:available`)).posted).toBe(
        FUNDS_MINOR + r.principalMinor + r.interestMinor,
      );
    }
  },
  60_000,
);

/**
 * What the investors are owed in interest over the loan's life: each installment's interest less
 * the platform's fee on it (half up).
 */
function investorsInterestMinor(
  principalMinor: bigint,
  termMonths: number,
  method: RepaymentMethod,
  feeRate: string,
): bigint {
  const schedule = buildSchedule(principalMinor, parseRate('0.12'), termMonths, method);
  return sum(
    schedule.map(
      (i) =>
        i.interestMinor - roundMinor(new MoneyDecimal(i.interestMinor.toString()).mul(feeRate)),
    ),
  );
}

let runs = 0;
it('returns every investor exactly their principal and their pro-rata interest within a minor unit, whatever the holdings, method, term and order of distribution', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.bigInt({ min: 100n, max: 5_000_000n }), { minLength: 1, maxLength: 7 }),
      fc.constantFrom(...REPAYMENT_METHODS),
      fc.integer({ min: 1, max: 24 }),
      fc.constantFrom('0', '0.1', '0.15', '0.333333'),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 24, maxLength: 24 }),
      fc.boolean(),
      async (weights, method, termMonths, feeRate, keys, shuffled) => {
        const id = `cp${runs++}`;
        const holdings = weights.map((holdingMinor, k) => ({
          investorId: `${id}-i${k}`,
          holdingMinor,
        }));
        const order = Array.from({ length: termMonths }, (_, k) => k + 1);
        // installments distributed out of order (some paid late)
        if (shuffled) order.sort((a, b) => keys[a - 1] - keys[b - 1]);
        await repayWholeLife(
          { id, holdings, termMonths, repaymentMethod: method, interestFeeRate: feeRate },
          order,
        );
        const received = await receivedByInvestor(db.pool, id);
        const principal = sum(weights);
        const pool = investorsInterestMinor(principal, termMonths, method, feeRate);
        expect(sum([...received.values()].map((r) => r.interestMinor))).toBe(pool);
        for (const h of holdings) {
          const r = received.get(h.investorId);
          expect(r?.principalMinor).toBe(h.holdingMinor);
          // |interest - pool * holding / principal| < 1, in integers.
          const error = (r?.interestMinor ?? 0n) * principal - pool * h.holdingMinor;
          expect(error < 0n ? -error : error).toBeLessThan(principal);
        }
      },
    ),
    { numRuns: 25, seed: 15 },
  );
}, 120_000);
