/**
 * Money on the gateway wire: decimal strings in the currency's scale ("1234.56"), held as
 * bigint minor units inside. A JavaScript number never holds an amount.
 */

import { CURRENCY_SCALES } from '../ledger/currency';

// One table of currencies and scales for the whole platform (ledger/currency.ts).
export { CURRENCY_SCALES, DEFAULT_CURRENCY } from '../ledger/currency';

/** Integer digits allowed before the point: far above any payment, far below bigint/BIGINT limits. */
const MAX_INTEGER_DIGITS = 15;

export class AmountError extends Error {
  override readonly name = 'AmountError';
}

export function currencyScale(currency: string): number {
  // hasOwn, not `in`: "constructor" must not be a currency.
  if (!Object.hasOwn(CURRENCY_SCALES, currency)) throw new AmountError(`unsupported currency '${currency}'`);
  return CURRENCY_SCALES[currency];
}

export function isSupportedCurrency(currency: string): boolean {
  return Object.hasOwn(CURRENCY_SCALES, currency);
}

/**
 * "1234.56" → 123456n. Rejects signs, exponents, spaces, more decimals than the scale (never
 * rounds: a rounded amount is a different amount), and absurdly long values.
 */
export function parseAmount(text: string, currency: string): bigint {
  const scale = currencyScale(currency);
  const match = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/.exec(text);
  if (!match) throw new AmountError(`'${text}' is not a plain decimal amount`);
  const [, whole, fraction = ''] = match;
  if (whole.length > MAX_INTEGER_DIGITS) throw new AmountError(`'${text}' is too large`);
  if (fraction.length > scale) throw new AmountError(`'${text}' has more than ${scale} decimals for ${currency}`);
  return BigInt(whole + fraction.padEnd(scale, '0'));
}

/** 123456n → "1234.56" (always the full scale, so equal amounts have equal strings). */
export function formatAmount(minor: bigint, currency: string): string {
  const scale = currencyScale(currency);
  if (minor < 0n) throw new AmountError('negative amounts never go on the gateway wire');
  if (scale === 0) return minor.toString();
  const digits = minor.toString().padStart(scale + 1, '0');
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}
