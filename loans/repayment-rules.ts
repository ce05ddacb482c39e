// The late-fee and interest-fee rules, the collection calendar and how long an unknown gateway
// outcome is queried (documented in docs/repayments.md).
import { MoneyDecimal, roundMinor } from '../ledger/money';

/**
 * 1% of the installment (principal + interest), charged once, when the installment becomes OVERDUE.
 */
export const LATE_FEE_RATE = new MoneyDecimal('0.01');

/**
 * The late fee of an installment: rounded half up, at least one minor unit. Goes to platform:fees.
 */
export function lateFee(installmentMinor: bigint): bigint {
  const fee = roundMinor(new MoneyDecimal(installmentMinor.toString()).mul(LATE_FEE_RATE));
  return fee > 0n ? fee : 1n;
}

/**
 * The platform's fee on an installment's interest, rounded half up; the investors share the rest.
 * One rule for each installment and for the loan's life total, so the two always agree.
 */
export function interestFee(interestMinor: bigint, interestFeeRate: string): bigint {
  return roundMinor(new MoneyDecimal(interestMinor.toString()).mul(interestFeeRate));
}

const DAY_MS = 86_400_000;

/**
 * A day of the loan's calendar: 24 hours, or a thirtieth of a compressed installment interval
 * (demo and tests), at least a second. A failed collection is tried again a day later.
 */
export function loanDayMs(installmentIntervalSeconds: number | null): number {
  if (installmentIntervalSeconds === null) return DAY_MS;
  return Math.max(1_000, Math.round((installmentIntervalSeconds * 1_000) / 30));
}

/**
 * How long an unknown gateway outcome is queried before an operator decides (same shape as the
 * workflows' QueryPolicy).
 */
export interface GatewayQueryPolicy {
  attempts: number;
  initialIntervalMs: number;
  maxIntervalMs: number;
}

/**
 * A loan on a compressed calendar (demo, tests) queries on its own scale: four queries within
 * about ten seconds instead of four minutes, so a month of 20 s is not outlived by one payout.
 * Undefined: the workflows' default (real calendar).
 */
export function queryPolicyFor(
  installmentIntervalSeconds: number | null,
): GatewayQueryPolicy | undefined {
  if (installmentIntervalSeconds === null) return undefined;
  return { attempts: 4, initialIntervalMs: 1_000, maxIntervalMs: 4_000 };
}
