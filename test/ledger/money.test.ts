// Money parsing, formatting, allocation and rounding: pure functions, plus properties.
import fc from 'fast-check';
import {
  allocate,
  allocateCumulative,
  formatAmount,
  formatWireAmount,
  MAX_MINOR,
  MoneyDecimal,
  monthlyInterest,
  parseAmount,
  parseRate,
  parseWireAmount,
  roundMinor,
  sum,
} from '../../ledger/money';
import { currencyScale, MoneyError } from '../../ledger/currency';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof MoneyError) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('parseAmount', () => {
  it.each([
    ['1234.56', 'CNY', 123456n],
    ['0.01', 'CNY', 1n],
    ['10', 'CNY', 1000n],
    ['10.5', 'CNY', 1050n],
    ['007.10', 'CNY', 710n],
    ['1000', 'JPY', 1000n],
    ['92233720368547758.07', 'CNY', MAX_MINOR],
  ])('parses %s %s', (text, currency, minor) => {
    expect(parseAmount(text, currency)).toBe(minor);
  });

  it.each([
    [1000, 'AMOUNT_NOT_A_STRING'],
    [null, 'AMOUNT_NOT_A_STRING'],
    [1000n, 'AMOUNT_NOT_A_STRING'],
    ['', 'AMOUNT_EMPTY'],
    ['   ', 'AMOUNT_EMPTY'],
    ['1e3', 'AMOUNT_EXPONENT'],
    ['1.5E+2', 'AMOUNT_EXPONENT'],
    ['NaN', 'AMOUNT_NOT_A_NUMBER'],
    ['Infinity', 'AMOUNT_NOT_A_NUMBER'],
    ['-Infinity', 'AMOUNT_NOT_A_NUMBER'],
    ['0x10', 'AMOUNT_NOT_A_NUMBER'],
    ['1,000.00', 'AMOUNT_NOT_A_NUMBER'],
    [' 10.00', 'AMOUNT_NOT_A_NUMBER'],
    ['+10', 'AMOUNT_NOT_A_NUMBER'],
    ['.5', 'AMOUNT_NOT_A_NUMBER'],
    ['5.', 'AMOUNT_NOT_A_NUMBER'],
    ['1; DROP TABLE ledger_postings', 'AMOUNT_NOT_A_NUMBER'],
    ['0.001', 'AMOUNT_TOO_MANY_DECIMALS'],
    ['-1', 'AMOUNT_NEGATIVE'],
    ['-0.01', 'AMOUNT_NEGATIVE'],
    ['0', 'AMOUNT_ZERO'],
    ['0.00', 'AMOUNT_ZERO'],
    ['92233720368547758.08', 'AMOUNT_OUT_OF_RANGE'],
    ['1000000000000000000000000000000', 'AMOUNT_OUT_OF_RANGE'],
  ])('refuses %p with %s', (input, code) => {
    expect(codeOf(() => parseAmount(input, 'CNY'))).toBe(code);
  });

  it('refuses decimals in a currency without minor units, and unknown currencies', () => {
    expect(codeOf(() => parseAmount('10.5', 'JPY'))).toBe('AMOUNT_TOO_MANY_DECIMALS');
    expect(codeOf(() => parseAmount('10', 'XXX'))).toBe('CURRENCY_UNKNOWN');
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'refuses %s, a property every object has, as a currency',
    (currency) => {
      expect(codeOf(() => currencyScale(currency))).toBe('CURRENCY_UNKNOWN');
      expect(codeOf(() => parseAmount('10.00', currency))).toBe('CURRENCY_UNKNOWN');
    },
  );

  it('accepts negatives and zero only when asked', () => {
    expect(parseAmount('-12.30', 'CNY', { allowNegative: true })).toBe(-1230n);
    expect(parseAmount('0.00', 'CNY', { allowZero: true })).toBe(0n);
  });

  it('round-trips with formatAmount for every representable amount (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -MAX_MINOR, max: MAX_MINOR }),
        fc.constantFrom('CNY', 'JPY'),
        (minor, currency) => {
          const text = formatAmount(minor, currency);
          expect(parseAmount(text, currency, { allowNegative: true, allowZero: true })).toBe(minor);
        },
      ),
    );
  });
});

describe('formatAmount', () => {
  it.each([
    [123456n, 'CNY', '1234.56'],
    [5n, 'CNY', '0.05'],
    [-5n, 'CNY', '-0.05'],
    [0n, 'CNY', '0.00'],
    [1000n, 'JPY', '1000'],
  ])('formats %p %s as %s', (minor, currency, text) => {
    expect(formatAmount(minor, currency)).toBe(text);
  });
});

describe('the gateway wire (parseWireAmount, formatWireAmount)', () => {
  it('reads a zero fee, and refuses a negative amount as the ledger does', () => {
    expect(parseWireAmount('0.00', 'CNY')).toBe(0n);
    expect(parseWireAmount('1234.56', 'CNY')).toBe(123456n);
    expect(codeOf(() => parseWireAmount('-0.01', 'CNY'))).toBe('AMOUNT_NEGATIVE');
    expect(codeOf(() => parseWireAmount('1e3', 'CNY'))).toBe('AMOUNT_EXPONENT');
  });

  it('never writes a negative amount on the wire', () => {
    expect(formatWireAmount(0n, 'CNY')).toBe('0.00');
    expect(codeOf(() => formatWireAmount(-1n, 'CNY'))).toBe('AMOUNT_NEGATIVE');
  });
});

describe('allocate (largest remainder)', () => {
  it('splits 100.00 three ways as 33.34 + 33.33 + 33.33', () => {
    expect(allocate(10000n, [1n, 1n, 1n])).toEqual([3334n, 3333n, 3333n]);
  });

  it('gives the extra units to the largest remainders, not the first parts', () => {
    // exact shares: 1.5, 3.75, 4.75 -> floors 1, 3, 4 (sum 8); 2 units left go to .75 and .75
    expect(allocate(10n, [6n, 15n, 19n])).toEqual([1n, 4n, 5n]);
  });

  it('refuses no parts, negative totals or weights, and all-zero weights', () => {
    expect(codeOf(() => allocate(10n, []))).toBe('ALLOCATION_INVALID');
    expect(codeOf(() => allocate(-1n, [1n]))).toBe('ALLOCATION_INVALID');
    expect(codeOf(() => allocate(10n, [1n, -1n]))).toBe('ALLOCATION_INVALID');
    expect(codeOf(() => allocate(10n, [0n, 0n]))).toBe('ALLOCATION_INVALID');
  });

  it('parts always sum to the whole and stay within one unit of the exact share (property)', () => {
    const weights = fc
      .array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 1, maxLength: 200 })
      .filter((w) => w.some((x) => x > 0n));
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), weights, (total, ws) => {
        const parts = allocate(total, ws);
        expect(sum(parts)).toBe(total);
        const weightSum = sum(ws);
        parts.forEach((part, i) => {
          expect(part).toBeGreaterThanOrEqual(0n);
          // |part * W - total * w| < W  <=>  part is within one unit of the exact share
          const error = part * weightSum - total * ws[i];
          expect(error < weightSum && error > -weightSum).toBe(true);
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('allocateCumulative (a series split so that it adds up)', () => {
  /** Splits `amounts` one after another among `weights`; returns each step's parts. */
  function splitSeries(amounts: bigint[], weights: bigint[]): bigint[][] {
    const lifeTotalMinor = sum(amounts);
    const paid = weights.map(() => 0n);
    return amounts.map((amountMinor) => {
      const parts = allocateCumulative({ amountMinor, weights, paidMinor: paid, lifeTotalMinor });
      parts.forEach((p, k) => {
        paid[k] += p;
      });
      return parts;
    });
  }

  it('returns three holders of 4.00 their 4.00 from twelve installments of 1.00, where splitting each alone gives 4.08 / 3.96 / 3.96', () => {
    const steps = splitSeries(
      Array.from({ length: 12 }, () => 100n),
      [400n, 400n, 400n],
    );
    expect([0, 1, 2].map((k) => sum(steps.map((s) => s[k])))).toEqual([400n, 400n, 400n]);
  });

  it('never gives a part a negative amount where a larger total would round it down (the Alabama paradox)', () => {
    // Cumulative 48 rounds to 2,2,2,21,21; cumulative 49 to 2,2,1,22,22: the third part would give
    // one back.
    const weights = [2n, 2n, 2n, 27n, 27n];
    const paid = allocate(48n, weights);
    expect(paid).toEqual([2n, 2n, 2n, 21n, 21n]);
    const parts = allocateCumulative({
      amountMinor: 1n,
      weights,
      paidMinor: paid,
      lifeTotalMinor: 60n,
    });
    expect(parts.every((p) => p >= 0n)).toBe(true);
    expect(sum(parts)).toBe(1n);
  });

  it('refuses a life total below what is split so far, and paid amounts that do not match the weights', () => {
    expect(
      codeOf(() =>
        allocateCumulative({
          amountMinor: 5n,
          weights: [1n],
          paidMinor: [6n],
          lifeTotalMinor: 10n,
        }),
      ),
    ).toBe('ALLOCATION_INVALID');
    expect(
      codeOf(() =>
        allocateCumulative({
          amountMinor: 5n,
          weights: [1n, 1n],
          paidMinor: [0n],
          lifeTotalMinor: 10n,
        }),
      ),
    ).toBe('ALLOCATION_INVALID');
  });

  it('never gives a negative part, adds up at every step, and ends within one unit of every exact share; exactly when the shares are whole (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: 1_000_000n }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.bigInt({ min: 0n, max: 5_000n }), { minLength: 1, maxLength: 40 }),
        (weights, amounts) => {
          const W = sum(weights);
          const total = sum(amounts);
          const steps = splitSeries(amounts, weights);
          steps.forEach((parts, n) => {
            expect(parts.every((p) => p >= 0n)).toBe(true);
            expect(sum(parts)).toBe(amounts[n]);
          });
          weights.forEach((w, k) => {
            const got = sum(steps.map((s) => s[k]));
            const error = got * W - total * w; // |got - total * w / W| < 1, in integers
            expect(error < 0n ? -error : error).toBeLessThan(W);
            if ((total * w) % W === 0n) expect(got * W).toBe(total * w);
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('rounding and interest', () => {
  it('rounds half up (away from zero), not half even', () => {
    expect(roundMinor(new MoneyDecimal('2.5'))).toBe(3n);
    expect(roundMinor(new MoneyDecimal('3.5'))).toBe(4n);
    expect(roundMinor(new MoneyDecimal('2.4999'))).toBe(2n);
    expect(roundMinor(new MoneyDecimal('-2.5'))).toBe(-3n);
  });

  it('computes a month of interest as principal * rate / 12', () => {
    // 10,000.00 at 8%: 66.666.. -> 66.67
    expect(monthlyInterest(1_000_000n, parseRate('0.08'))).toBe(6667n);
    // exact for principals far beyond a double's 2^53
    expect(monthlyInterest(9_000_000_000_000_000_000n, parseRate('0.12'))).toBe(
      90_000_000_000_000_000n,
    );
  });

  it('refuses malformed rates', () => {
    for (const bad of ['8%', '-0.1', '1e-2', 'NaN', '', '0.08 ', '11'])
      expect(codeOf(() => parseRate(bad))).toBe('RATE_INVALID');
    expect(codeOf(() => parseRate(0.08))).toBe('RATE_INVALID');
  });
});
