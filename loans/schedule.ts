// Repayment schedules for the three methods (DESIGN.md, Money). Pure: minor units in, minor units
// out. Interest is balance * annual rate / 12 per month, rounded half up; principal always sums
// exactly to the loan's principal, the last installment absorbing any residue.
import { allocate, MoneyDecimal, roundMinor, sum } from '../ledger/money';
import type Decimal from 'decimal.js';

export type RepaymentMethod = 'equal_installment' | 'equal_principal' | 'interest_then_principal';
export const REPAYMENT_METHODS: readonly RepaymentMethod[] = [
  'equal_installment',
  'equal_principal',
  'interest_then_principal',
];

export interface Installment {
  n: number;
  principalMinor: bigint;
  interestMinor: bigint;
}

export function buildSchedule(
  principalMinor: bigint,
  annualRate: Decimal,
  termMonths: number,
  method: RepaymentMethod,
): Installment[] {
  if (principalMinor <= 0n) throw new RangeError('principal must be positive');
  if (!Number.isInteger(termMonths) || termMonths < 1 || termMonths > 360)
    throw new RangeError('termMonths must be 1..360');
  const monthlyRate = new MoneyDecimal(annualRate).div(12);
  const interestOn = (balance: bigint) =>
    roundMinor(new MoneyDecimal(balance.toString()).mul(monthlyRate));
  const schedule: Installment[] = [];
  let balance = principalMinor;

  if (method === 'interest_then_principal') {
    for (let n = 1; n <= termMonths; n++) {
      schedule.push({
        n,
        principalMinor: n === termMonths ? principalMinor : 0n,
        interestMinor: interestOn(principalMinor),
      });
    }
    return schedule;
  }

  if (method === 'equal_principal' || monthlyRate.isZero()) {
    const parts = allocate(
      principalMinor,
      Array.from({ length: termMonths }, () => 1n),
    );
    for (let n = 1; n <= termMonths; n++) {
      schedule.push({ n, principalMinor: parts[n - 1], interestMinor: interestOn(balance) });
      balance -= parts[n - 1];
    }
    return schedule;
  }

  // Annuity: payment = P * r / (1 - (1 + r)^-n), rounded to the minor unit.
  const payment = roundMinor(
    new MoneyDecimal(principalMinor.toString())
      .mul(monthlyRate)
      .div(new MoneyDecimal(1).minus(monthlyRate.plus(1).pow(-termMonths))),
  );
  for (let n = 1; n <= termMonths; n++) {
    const interestMinor = interestOn(balance);
    // The last installment repays what is left, so the principal sums exactly.
    const principalPart = n === termMonths ? balance : bigMin(balance, payment - interestMinor);
    schedule.push({ n, principalMinor: principalPart, interestMinor });
    balance -= principalPart;
  }
  return schedule;
}

function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function scheduleTotals(schedule: readonly Installment[]): {
  principalMinor: bigint;
  interestMinor: bigint;
} {
  return {
    principalMinor: sum(schedule.map((i) => i.principalMinor)),
    interestMinor: sum(schedule.map((i) => i.interestMinor)),
  };
}

/**
 * Due date of installment n: n calendar months after `start` (day clamped to the month's end), or n
 * intervals.
 */
export function dueDate(start: Date, n: number, intervalSeconds?: number): Date {
  if (intervalSeconds !== undefined) return new Date(start.getTime() + n * intervalSeconds * 1000);
  const year = start.getUTCFullYear();
  const month = start.getUTCMonth() + n;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      year,
      month,
      Math.min(start.getUTCDate(), lastDay),
      start.getUTCHours(),
      start.getUTCMinutes(),
      start.getUTCSeconds(),
    ),
  );
}
