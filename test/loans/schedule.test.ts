// Repayment schedules: exact sums for every method (properties), and known values.
import fc from 'fast-check';
import { parseRate } from '../../ledger/money';
import { buildSchedule, dueDate, REPAYMENT_METHODS, scheduleTotals } from '../../loans/schedule';

describe('buildSchedule', () => {
  it('equal installment: 12,000.00 at 12% over 12 months pays 1,066.19 a month', () => {
    const s = buildSchedule(1_200_000n, parseRate('0.12'), 12, 'equal_installment');
    expect(s[0]).toEqual({ n: 1, principalMinor: 94_619n, interestMinor: 12_000n });
    for (const i of s.slice(0, 11)) expect(i.principalMinor + i.interestMinor).toBe(106_619n);
    expect(scheduleTotals(s).principalMinor).toBe(1_200_000n);
  });

  it('equal principal: 100.00 over 3 months is 33.34 + 33.33 + 33.33 with interest on the falling balance', () => {
    const s = buildSchedule(10_000n, parseRate('0.12'), 3, 'equal_principal');
    expect(s.map((i) => i.principalMinor)).toEqual([3_334n, 3_333n, 3_333n]);
    expect(s.map((i) => i.interestMinor)).toEqual([100n, 67n, 33n]);
  });

  it('interest then principal: the same interest each month, all principal at maturity', () => {
    const s = buildSchedule(1_000_000n, parseRate('0.08'), 3, 'interest_then_principal');
    expect(s.map((i) => i.interestMinor)).toEqual([6_667n, 6_667n, 6_667n]);
    expect(s.map((i) => i.principalMinor)).toEqual([0n, 0n, 1_000_000n]);
  });

  it('a zero rate splits the principal evenly and charges no interest', () => {
    const s = buildSchedule(1_000n, parseRate('0'), 3, 'equal_installment');
    expect(s.map((i) => i.principalMinor)).toEqual([334n, 333n, 333n]);
    expect(scheduleTotals(s).interestMinor).toBe(0n);
  });

  it('sums principal exactly, never schedules a negative part, and charges interest only on what is owed (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 13n }),
        fc.integer({ min: 0, max: 3600 }).map((bp) => parseRate((bp / 10_000).toFixed(4))),
        fc.integer({ min: 1, max: 60 }),
        fc.constantFrom(...REPAYMENT_METHODS),
        (principal, rate, term, method) => {
          const s = buildSchedule(principal, rate, term, method);
          expect(s).toHaveLength(term);
          expect(scheduleTotals(s).principalMinor).toBe(principal);
          for (const i of s) {
            expect(i.principalMinor >= 0n && i.interestMinor >= 0n).toBe(true);
          }
          // Interest of a month never exceeds a month's interest on the whole principal (+1 for
          // rounding).
          const ceiling =
            (principal * BigInt(Math.round(rate.toNumber() * 10_000))) / 120_000n + 1n;
          for (const i of s) expect(i.interestMinor <= ceiling).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('dueDate', () => {
  it('adds calendar months, clamping to the end of shorter months', () => {
    const start = new Date('2026-01-31T10:00:00Z');
    expect(dueDate(start, 1).toISOString()).toBe('2026-02-28T10:00:00.000Z');
    expect(dueDate(start, 2).toISOString()).toBe('2026-03-31T10:00:00.000Z');
    expect(dueDate(start, 12).toISOString()).toBe('2027-01-31T10:00:00.000Z');
  });

  it('uses a fixed interval for compressed calendars', () => {
    expect(dueDate(new Date('2026-01-01T00:00:00Z'), 3, 20).toISOString()).toBe(
      '2026-01-01T00:01:00.000Z',
    );
  });
});
