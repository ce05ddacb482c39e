// Money as integer minor units (bigint). A JavaScript number never holds money here.
import Decimal from 'decimal.js';
import { currencyScale, MoneyError } from './currency';

export { MoneyError } from './currency';

/** The largest amount Postgres can store in a BIGINT column. */
export const MAX_MINOR = 9_223_372_036_854_775_807n;

export interface ParseOptions {
  /** Allow amounts below zero (adjustments); default false. */
  allowNegative?: boolean;
  /** Allow zero; default false: a zero transfer is almost always a bug. */
  allowZero?: boolean;
}

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal string ("1234.56") in a currency's scale into minor units (123456n).
 * Refuses, each with its own code: non-strings, empty, exponents, NaN/Infinity/garbage, more
 * decimals than the scale, negatives and zero (unless allowed), and values beyond BIGINT.
 */
export function parseAmount(input: unknown, currency: string, options: ParseOptions = {}): bigint {
  if (typeof input !== 'string')
    throw new MoneyError(
      'AMOUNT_NOT_A_STRING',
      `amount must be a decimal string, got ${typeof input}`,
    );
  const scale = currencyScale(currency);
  const text = input.trim();
  if (text === '') throw new MoneyError('AMOUNT_EMPTY', 'amount is empty');
  if (/^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$/.test(text))
    throw new MoneyError('AMOUNT_EXPONENT', `amount must not use an exponent: ${input}`);
  const match = DECIMAL.exec(text);
  if (!match || text !== input)
    throw new MoneyError(
      'AMOUNT_NOT_A_NUMBER',
      `amount is not a plain decimal number: ${JSON.stringify(input).slice(0, 40)}`,
    );
  const [, minus, whole, fraction = ''] = match;
  if (fraction.length > scale)
    throw new MoneyError(
      'AMOUNT_TOO_MANY_DECIMALS',
      `${currency} has ${scale} decimals at most: ${input}`,
    );
  const digits = whole + fraction.padEnd(scale, '0');
  if (digits.replace(/^0+/, '').length > 19)
    throw new MoneyError('AMOUNT_OUT_OF_RANGE', `amount is too large: ${input}`);
  const magnitude = BigInt(digits);
  if (magnitude > MAX_MINOR)
    throw new MoneyError('AMOUNT_OUT_OF_RANGE', `amount is too large: ${input}`);
  const minor = minus ? -magnitude : magnitude;
  if (minor < 0n && !options.allowNegative)
    throw new MoneyError('AMOUNT_NEGATIVE', `amount must not be negative: ${input}`);
  if (minor === 0n && !options.allowZero)
    throw new MoneyError('AMOUNT_ZERO', 'amount must be greater than zero');
  return minor;
}

/** Formats minor units as a decimal string in the currency's scale: 123456n, CNY -> "1234.56". */
export function formatAmount(minor: bigint, currency: string): string {
  const scale = currencyScale(currency);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return `${negative ? '-' : ''}${whole}${scale > 0 ? `.${fraction}` : ''}`;
}

/**
 * Money on the gateway wire (orders, answers, notifications, statements): the same decimal strings,
 * zero allowed (a fee of 0.00), a negative amount never.
 */
export function parseWireAmount(input: unknown, currency: string): bigint {
  return parseAmount(input, currency, { allowZero: true });
}

/** Minor units as the gateway wire carries them; a negative amount is refused, never sent. */
export function formatWireAmount(minor: bigint, currency: string): string {
  if (minor < 0n)
    throw new MoneyError('AMOUNT_NEGATIVE', 'negative amounts never go on the gateway wire');
  return formatAmount(minor, currency);
}

/** Sums minor amounts exactly. */
export function sum(amounts: readonly bigint[]): bigint {
  return amounts.reduce((acc, a) => acc + a, 0n);
}

/**
 * Splits `total` by `weights` with the largest-remainder method: every part is floor(total * w / W)
 * plus one minor unit for the parts with the largest remainders (ties to the earlier index), so the
 * parts always add up exactly to the total and no part differs from its exact share by a unit or
 * more.
 */
export function allocate(total: bigint, weights: readonly bigint[]): bigint[] {
  if (weights.length === 0)
    throw new MoneyError('ALLOCATION_INVALID', 'cannot allocate among no parts');
  if (total < 0n) throw new MoneyError('ALLOCATION_INVALID', 'cannot allocate a negative total');
  if (weights.some((w) => w < 0n))
    throw new MoneyError('ALLOCATION_INVALID', 'weights must not be negative');
  const weightSum = sum(weights);
  if (weightSum === 0n) throw new MoneyError('ALLOCATION_INVALID', 'weights must not all be zero');
  const parts = weights.map((w) => (total * w) / weightSum);
  const remainders = weights.map((w, index) => ({ index, remainder: (total * w) % weightSum }));
  let left = total - sum(parts);
  remainders.sort((a, b) =>
    a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1,
  );
  for (const { index } of remainders) {
    if (left === 0n) break;
    parts[index] += 1n;
    left -= 1n;
  }
  return parts;
}

export interface CumulativeSplit {
  /** What is split now: one installment's principal, say. */
  amountMinor: bigint;
  weights: readonly bigint[];
  /** What each part already received of the earlier amounts, in the order of `weights`. */
  paidMinor: readonly bigint[];
  /**
   * All that will ever be split this way, earlier, now and later: no part is given more than its
   * share of it.
   */
  lifeTotalMinor: bigint;
}

/**
 * Splits one of a series of amounts (a loan's installments among its investors) so that the series
 * adds up: each part gets its largest-remainder share of the cumulative total so far minus what it
 * already received. Split on its own, each amount's rounding favours the same parts every time;
 * cumulatively, the last amount brings every part to its share of the life total, within a unit.
 *
 * Two bounds keep that true where plain cumulative rounding breaks: no part is given a negative
 * amount (the largest remainder of a larger total can be smaller for one part, the "Alabama
 * paradox"), and no part goes past its share of the life total (or it would have to give money
 * back at the end). What either bound holds back is spread over the other parts by their room.
 */
export function allocateCumulative(split: CumulativeSplit): bigint[] {
  const { amountMinor, weights, paidMinor, lifeTotalMinor } = split;
  if (paidMinor.length !== weights.length)
    throw new MoneyError('ALLOCATION_INVALID', 'one paid amount per weight');
  if (amountMinor < 0n || paidMinor.some((p) => p < 0n))
    throw new MoneyError('ALLOCATION_INVALID', 'amounts must not be negative');
  const cumulative = sum(paidMinor) + amountMinor;
  if (lifeTotalMinor < cumulative)
    throw new MoneyError(
      'ALLOCATION_INVALID',
      `the life total ${lifeTotalMinor} is below what is split so far, ${cumulative}`,
    );
  const target = allocate(cumulative, weights);
  // A part paid past its life share by an older rule keeps what it has: the cap cannot be below it.
  const cap = allocate(lifeTotalMinor, weights).map((f, k) =>
    f > paidMinor[k] ? f : paidMinor[k],
  );
  const reached = target.map((t, k) => (t < paidMinor[k] ? paidMinor[k] : t > cap[k] ? cap[k] : t));
  const short = cumulative - sum(reached);
  if (short !== 0n) {
    // More to give: to the parts below their cap; less: from the parts above what they were paid.
    // Their room always covers it (sum(cap) >= life total >= cumulative >= sum(paid)).
    const room = reached.map((r, k) => (short > 0n ? cap[k] - r : r - paidMinor[k]));
    // each part <= its room: largest remainder never rounds past a whole weight
    const moved = allocate(short > 0n ? short : -short, room);
    moved.forEach((m, k) => {
      reached[k] += short > 0n ? m : -m;
    });
  }
  const parts = reached.map((r, k) => r - paidMinor[k]);
  if (parts.some((p) => p < 0n) || sum(parts) !== amountMinor)
    throw new Error('allocateCumulative: parts do not add up'); // cannot happen
  return parts;
}

/**
 * Rounding of computed amounts (interest, fees) to the minor unit: ROUND_HALF_UP, half a minor
 * unit away from zero, the convention of Chinese lending contracts (四舍五入). Allocation does
 * not round: it distributes remainders so parts sum exactly.
 */
export const MONEY_ROUNDING = Decimal.ROUND_HALF_UP;

/** Rounds a decimal amount in minor units (e.g. 1234.5 minor) to a whole minor unit, half up. */
export function roundMinor(value: Decimal, rounding: Decimal.Rounding = MONEY_ROUNDING): bigint {
  if (!value.isFinite())
    throw new MoneyError('AMOUNT_NOT_A_NUMBER', 'computed amount is not finite');
  return BigInt(value.toDecimalPlaces(0, rounding).toFixed(0));
}

/** Decimal with room for BIGINT-sized principals times rates: the default 20 digits is too few. */
export const MoneyDecimal = Decimal.clone({ precision: 50, rounding: MONEY_ROUNDING });

const RATE = /^\d{1,3}(\.\d{1,10})?$/;

/** Parses an annual rate given as a decimal string ("0.08" = 8%), between 0 and 10 (1,000%). */
export function parseRate(input: unknown): Decimal {
  if (typeof input !== 'string' || !RATE.test(input))
    throw new MoneyError(
      'RATE_INVALID',
      `rate must be a decimal string such as "0.08": ${String(input).slice(0, 40)}`,
    );
  const rate = new MoneyDecimal(input);
  if (rate.gt(10)) throw new MoneyError('RATE_INVALID', `rate is implausibly high: ${input}`);
  return rate;
}

/**
 * Monthly interest on `principalMinor` at an annual rate: principal * rate / 12, rounded half up.
 */
export function monthlyInterest(principalMinor: bigint, annualRate: Decimal): bigint {
  return roundMinor(new MoneyDecimal(principalMinor.toString()).mul(annualRate).div(12));
}
