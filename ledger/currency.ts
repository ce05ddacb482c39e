/**
 * Currencies the platform books, with their minor-unit scale. Mirrors ledger_currencies in
 * Postgres.
 */
export const CURRENCY_SCALES: Readonly<Record<string, number>> = Object.freeze({
  CNY: 2,
  USD: 2,
  EUR: 2,
  HKD: 2,
  JPY: 0,
});

export const DEFAULT_CURRENCY = 'CNY';

export function currencyScale(currency: string): number {
  // hasOwn, not an index: "constructor" and its kin are not currencies.
  const scale = Object.hasOwn(CURRENCY_SCALES, currency) ? CURRENCY_SCALES[currency] : undefined;
  if (scale === undefined)
    throw new MoneyError('CURRENCY_UNKNOWN', `unknown currency: ${JSON.stringify(currency)}`);
  return scale;
}

export type MoneyErrorCode =
  | 'AMOUNT_NOT_A_STRING'
  | 'AMOUNT_EMPTY'
  | 'AMOUNT_EXPONENT'
  | 'AMOUNT_NOT_A_NUMBER'
  | 'AMOUNT_TOO_MANY_DECIMALS'
  | 'AMOUNT_NEGATIVE'
  | 'AMOUNT_ZERO'
  | 'AMOUNT_OUT_OF_RANGE'
  | 'CURRENCY_UNKNOWN'
  | 'ALLOCATION_INVALID'
  | 'RATE_INVALID';

/** A money value was refused; `code` says why, for a 4xx at the edge. */
export class MoneyError extends Error {
  constructor(
    readonly code: MoneyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MoneyError';
  }
}
