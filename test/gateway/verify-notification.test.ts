// verifyNotification: one distinct reason per miss, including the incident's `&&`/`||` bug
// (status 0 with the right amount) and a wrong amount with status SUCCESS.
import fc from 'fast-check';
import { NOTIFY_SIGNATURE_HEADER, NOTIFY_TIMESTAMP_HEADER } from '../../gateway/protocol';
import { signNotification } from '../../gateway/signing';
import { verifyNotification, type ExpectedOrder } from '../../gateway/verify-notification';

const SECRET = 'notify-secret-0123456789';
const NOW_MS = Date.UTC(2024, 5, 1, 8, 0, 0);
const ORDERS: Record<string, ExpectedOrder> = {
  'P-1': { amountMinor: 123_456n, currency: 'CNY', kind: 'PAYOUT' },
  'C-1': { amountMinor: 5_000n, currency: 'CNY', kind: 'COLLECTION' },
};
const lookupOrder = (orderNo: string): ExpectedOrder | undefined => ORDERS[orderNo];

function body(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    notifyId: 'GW1-2',
    orderNo: 'P-1',
    kind: 'PAYOUT',
    status: 'SUCCESS',
    amount: '1234.56',
    currency: 'CNY',
    fee: '1.00',
    gatewayTradeNo: 'GW1',
    eventSeq: 2,
    eventTime: new Date(NOW_MS).toISOString(),
    ...overrides,
  });
}

function signed(raw: string, options: { timestampMs?: number; secret?: string } = {}) {
  const timestamp = Math.floor((options.timestampMs ?? NOW_MS) / 1000).toString();
  return {
    [NOTIFY_TIMESTAMP_HEADER]: timestamp,
    [NOTIFY_SIGNATURE_HEADER]: signNotification(options.secret ?? SECRET, timestamp, raw),
  };
}

function verify(raw: string, headers: Record<string, string | string[] | undefined> = signed(raw)) {
  return verifyNotification({ rawBody: raw, headers, secret: SECRET, nowMs: NOW_MS, lookupOrder });
}

it('accepts an authentic SUCCESS for the exact amount and currency', async () => {
  const result = await verify(body());
  expect(result).toEqual({
    ok: true,
    status: 'SUCCESS',
    notification: expect.objectContaining({
      orderNo: 'P-1',
      amountMinor: 123_456n,
      currency: 'CNY',
      feeMinor: 100n,
      eventSeq: 2,
    }),
  });
});

it('accepts a Buffer body, upper-case header names and an async lookup', async () => {
  const raw = body();
  const headers = Object.fromEntries(
    Object.entries(signed(raw)).map(([k, v]) => [k.toUpperCase(), v]),
  );
  const result = await verifyNotification({
    rawBody: Buffer.from(raw),
    headers,
    secret: SECRET,
    nowMs: NOW_MS,
    lookupOrder: async (n) => lookupOrder(n),
  });
  expect(result.ok).toBe(true);
});

it('status 0 with the right amount is STATUS_NOT_SUCCESS (the && bug let this through)', async () => {
  expect(await verify(body({ status: '0' }))).toMatchObject({
    ok: false,
    reason: 'STATUS_NOT_SUCCESS',
  });
  expect(await verify(body({ status: 'PROCESSING' }))).toMatchObject({
    ok: false,
    reason: 'STATUS_NOT_SUCCESS',
  });
  expect(await verify(body({ status: 'success' }))).toMatchObject({
    ok: false,
    reason: 'STATUS_NOT_SUCCESS',
  });
});

it('a wrong amount with status SUCCESS is AMOUNT_MISMATCH, even by one minor unit', async () => {
  expect(await verify(body({ amount: '1234.55' }))).toMatchObject({
    ok: false,
    reason: 'AMOUNT_MISMATCH',
  });
  expect(await verify(body({ amount: '12345.60' }))).toMatchObject({
    ok: false,
    reason: 'AMOUNT_MISMATCH',
  });
});

it('more decimals than the scale are MALFORMED; fewer decimals are the same amount ("50" is 50.00)', async () => {
  expect(await verify(body({ amount: '1234.560' }))).toMatchObject({
    ok: false,
    reason: 'MALFORMED',
  });
  expect(
    await verify(body({ orderNo: 'C-1', kind: 'COLLECTION', amount: '50', fee: '0.15' })),
  ).toMatchObject({ ok: true });
});

it('a wrong currency is CURRENCY_MISMATCH', async () => {
  expect(await verify(body({ currency: 'USD' }))).toMatchObject({
    ok: false,
    reason: 'CURRENCY_MISMATCH',
  });
});

it('an order we do not know is UNKNOWN_ORDER; another kind is KIND_MISMATCH', async () => {
  expect(await verify(body({ orderNo: 'P-404' }))).toMatchObject({
    ok: false,
    reason: 'UNKNOWN_ORDER',
  });
  expect(await verify(body({ kind: 'COLLECTION' }))).toMatchObject({
    ok: false,
    reason: 'KIND_MISMATCH',
  });
});

it('a signature with another key, or over another body, is BAD_SIGNATURE', async () => {
  const raw = body();
  expect(await verify(raw, signed(raw, { secret: 'someone-else-0123456789' }))).toMatchObject({
    ok: false,
    reason: 'BAD_SIGNATURE',
  });
  expect(await verify(body({ amount: '9999.99' }), signed(raw))).toMatchObject({
    ok: false,
    reason: 'BAD_SIGNATURE',
  });
  expect(await verify(raw, { ...signed(raw), [NOTIFY_SIGNATURE_HEADER]: 'zz' })).toMatchObject({
    ok: false,
    reason: 'BAD_SIGNATURE',
  });
  // A fresh timestamp on an old signature: the timestamp is signed too.
  expect(
    await verify(raw, { ...signed(raw), [NOTIFY_TIMESTAMP_HEADER]: String(NOW_MS / 1000 + 1) }),
  ).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
});

it('a timestamp more than 5 minutes away either way is STALE_TIMESTAMP', async () => {
  const raw = body();
  expect(await verify(raw, signed(raw, { timestampMs: NOW_MS - 301_000 }))).toMatchObject({
    ok: false,
    reason: 'STALE_TIMESTAMP',
  });
  expect(await verify(raw, signed(raw, { timestampMs: NOW_MS + 301_000 }))).toMatchObject({
    ok: false,
    reason: 'STALE_TIMESTAMP',
  });
  expect(await verify(raw, signed(raw, { timestampMs: NOW_MS - 299_000 }))).toMatchObject({
    ok: true,
  });
});

it('missing headers, duplicated headers, non-JSON and wrong shapes are MALFORMED', async () => {
  const raw = body();
  expect(await verify(raw, {})).toMatchObject({ ok: false, reason: 'MALFORMED' });
  const sig = signed(raw);
  expect(
    await verify(raw, { ...sig, [NOTIFY_SIGNATURE_HEADER]: [sig[NOTIFY_SIGNATURE_HEADER], 'x'] }),
  ).toMatchObject({ ok: false, reason: 'MALFORMED' });
  for (const bad of [
    'not json',
    '[]',
    body({ eventSeq: '2' }),
    body({ amount: 1234.56 }),
    body({ amount: '-1.00' }),
    body({ amount: '1e3' }),
    body({ orderNo: 'bad order' }),
  ]) {
    expect(await verify(bad)).toMatchObject({ ok: false, reason: 'MALFORMED' });
  }
});

it('an authentic FAILED is REPORTED_FAILED (never ok), definitive only for listed codes', async () => {
  expect(await verify(body({ status: 'FAILED', code: 'INSUFFICIENT_FUNDS' }))).toMatchObject({
    ok: false,
    reason: 'REPORTED_FAILED',
    code: 'INSUFFICIENT_FUNDS',
    definitive: true,
  });
  expect(await verify(body({ status: 'FAILED', code: 'SYSTEM_BUSY' }))).toMatchObject({
    ok: false,
    reason: 'REPORTED_FAILED',
    definitive: false,
  });
  expect(await verify(body({ status: 'FAILED' }))).toMatchObject({
    ok: false,
    reason: 'REPORTED_FAILED',
    code: '',
    definitive: false,
  });
  // A failure for a wrong amount is still a mismatch first: it is not about our order.
  expect(await verify(body({ status: 'FAILED', code: 'REJECTED', amount: '1.00' }))).toMatchObject({
    ok: false,
    reason: 'AMOUNT_MISMATCH',
  });
});

it('property: ok only when status is SUCCESS and amount and currency both match', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('SUCCESS', 'FAILED', '0', '1', 'PROCESSING', ''),
      // Half the runs use the expected amount, so the status and currency checks are exercised
      // alone.
      fc.oneof(fc.constant(123_456n), fc.bigInt({ min: 0n, max: 300_000n })),
      fc.constantFrom('CNY', 'USD'),
      async (status, amountMinor, currency) => {
        const amount = `${amountMinor / 100n}.${(amountMinor % 100n).toString().padStart(2, '0')}`;
        const result = await verify(body({ status, amount, currency }));
        const allMatch = status === 'SUCCESS' && amountMinor === 123_456n && currency === 'CNY';
        expect(result.ok).toBe(allMatch);
      },
    ),
    { numRuns: 300 },
  );
});
