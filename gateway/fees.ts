/**
 * The gateway's fee schedule (our contract with the PSP), in minor units (bigint). The simulator
 * charges it on executed orders and shows it on the daily statement; reconciliation checks every
 * statement line's fee against it.
 * - payout (代付): a flat 1 major unit (1.00 CNY);
 * - collection (代扣): 0.30 % of the amount, rounded half up, at least 1 minor unit.
 */
import { currencyScale } from '../ledger/currency';
import type { OrderKind } from './protocol';

const COLLECTION_FEE_BASIS_POINTS = 30n;

export function feeMinor(kind: OrderKind, amountMinor: bigint, currency: string): bigint {
  if (kind === 'PAYOUT') return 10n ** BigInt(currencyScale(currency));
  const fee = (amountMinor * COLLECTION_FEE_BASIS_POINTS + 5_000n) / 10_000n;
  return fee > 0n ? fee : 1n;
}
