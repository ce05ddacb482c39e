/**
 * The simulator's fee schedule, in minor units (bigint). Charged only on executed orders and
 * shown on the daily statement, so reconciliation has fees to check.
 * - payout (代付): a flat 1 major unit (1.00 CNY);
 * - collection (代扣): 0.30 % of the amount, rounded half up, at least 1 minor unit.
 */
import { currencyScale } from '../money';
import type { OrderKind } from '../protocol';

const COLLECTION_FEE_BASIS_POINTS = 30n;

export function feeMinor(kind: OrderKind, amountMinor: bigint, currency: string): bigint {
  if (kind === 'PAYOUT') return 10n ** BigInt(currencyScale(currency));
  const fee = (amountMinor * COLLECTION_FEE_BASIS_POINTS + 5_000n) / 10_000n;
  return fee > 0n ? fee : 1n;
}
