// The simulator as a PSP: idempotency by order number, strict input, merchant authentication,
// seeded fault rates, and the control endpoints that set them.
import type { GatewayClient } from '../../gateway/client';
import { parseFaultRates } from '../../gateway/simulator/faults';
import type { RunningSimulator } from '../../gateway/simulator/server';
import {
  ACCOUNT,
  clientFor,
  control,
  orderNo,
  signedPost,
  startTestSimulator,
  tempDir,
} from './helpers';

const dir = tempDir();
let sim: RunningSimulator;
let client: GatewayClient;

beforeAll(async () => {
  sim = await startTestSimulator({ dataDir: dir.path });
  client = clientFor(sim.url);
});
afterAll(async () => {
  await sim.close();
  dir.remove();
});

const request = (no: string, amountMinor = 10_000n) => ({
  orderNo: no,
  amountMinor,
  currency: 'CNY',
  account: ACCOUNT,
});
const recordsOf = (no: string) => sim.truth().filter((r) => r.orderNo === no);

describe('idempotency by order number', () => {
  it('a repeated order number returns the first state and never executes twice', async () => {
    const no = orderNo();
    const first = await client.payout(request(no));
    const second = await client.payout(request(no));
    expect(second).toEqual(first);
    expect(recordsOf(no)).toHaveLength(1);
  });

  it('a repeat of a failed order stays failed, even when the repeat asks for nothing special', async () => {
    const no = orderNo();
    expect(await client.payout({ ...request(no), simFault: 'fail:INVALID_ACCOUNT' })).toEqual({
      kind: 'failed',
      code: 'INVALID_ACCOUNT',
    });
    expect(await client.payout(request(no))).toEqual({ kind: 'failed', code: 'INVALID_ACCOUNT' });
    expect(recordsOf(no)[0]).toMatchObject({ status: 'FAILED' });
  });

  it('a retry after an unknown outcome (reset after execute) gets the executed state, once', async () => {
    const no = orderNo();
    expect((await client.payout({ ...request(no), simFault: 'reset-after-execute' })).kind).toBe(
      'unknown',
    );
    expect(await client.payout(request(no))).toMatchObject({ kind: 'succeeded' });
    expect(recordsOf(no)).toHaveLength(1);
  });

  it('30 concurrent submissions of one order number execute exactly once', async () => {
    const no = orderNo();
    // Generous timeouts: the claim is "executed once", not how fast 30 connections open on a loaded
    // machine.
    const patient = clientFor(sim.url, { connectTimeoutMs: 5_000, requestTimeoutMs: 15_000 });
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () => patient.payout(request(no))),
    );
    expect(new Set(outcomes.map((o) => o.kind))).toEqual(new Set(['succeeded']));
    expect(recordsOf(no)).toHaveLength(1);
  });

  it('the same order number with another amount is a conflict (unknown), not a second execution', async () => {
    const no = orderNo();
    await client.payout(request(no));
    expect(await client.payout(request(no, 10_001n))).toMatchObject({
      kind: 'unknown',
      httpStatus: 409,
      reason: expect.stringContaining('ORDER_CONFLICT'),
    });
    expect(await client.collect(request(no))).toMatchObject({ kind: 'unknown', httpStatus: 409 });
    expect(recordsOf(no)).toEqual([
      expect.objectContaining({ amountMinor: 10_000n, kind: 'PAYOUT' }),
    ]);
  });
});

describe('strict input', () => {
  const valid = { orderNo: 'X', amount: '10.00', currency: 'CNY', account: ACCOUNT };
  it.each([
    ['an unknown field', { ...valid, amout: '10.00' }, 'INVALID_REQUEST'],
    ['a number amount', { ...valid, amount: 10 }, 'INVALID_REQUEST'],
    ['more decimals than the scale', { ...valid, amount: '10.001' }, 'INVALID_AMOUNT'],
    ['an exponent', { ...valid, amount: '1e3' }, 'INVALID_AMOUNT'],
    ['a negative amount', { ...valid, amount: '-1.00' }, 'INVALID_AMOUNT'],
    ['a zero amount', { ...valid, amount: '0.00' }, 'INVALID_AMOUNT'],
    ['an unsupported currency', { ...valid, currency: 'XXX' }, 'INVALID_AMOUNT'],
    [
      'a bad account number',
      { ...valid, account: { ...ACCOUNT, accountNo: '12ab' } },
      'INVALID_REQUEST',
    ],
    ['a bad order number', { ...valid, orderNo: 'a b' }, 'INVALID_REQUEST'],
  ])('rejects %s with 400 and records nothing', async (_what, body, code) => {
    const before = sim.truth().length;
    const result = await signedPost(
      sim.url,
      '/v1/payouts',
      JSON.stringify({ ...body, orderNo: body.orderNo === 'X' ? orderNo() : body.orderNo }),
    );
    expect(result).toMatchObject({ kind: 'response', httpStatus: 400 });
    if (result.kind === 'response') expect(JSON.parse(result.body)).toMatchObject({ code });
    expect(sim.truth().length).toBe(before);
  });

  it('rejects a body that does not match its signature (401)', async () => {
    const body = JSON.stringify({
      orderNo: orderNo(),
      amount: '10.00',
      currency: 'CNY',
      account: ACCOUNT,
    });
    const result = await signedPost(sim.url, '/v1/payouts', body, {
      'x-request-signature': '0'.repeat(64),
    });
    expect(result).toMatchObject({ kind: 'response', httpStatus: 401 });
  });

  it('rejects an unknown fault name in X-Sim-Fault (400)', async () => {
    expect(await client.payout({ ...request(orderNo()), simFault: 'explode' })).toMatchObject({
      kind: 'unknown',
      httpStatus: 400,
    });
  });
});

describe('fault rates', () => {
  it('the same seed gives the same faults for the same order numbers; another seed differs', async () => {
    const rates = parseFaultRates('fail:REJECTED=0.3,error-5xx-before-execute=0.2');
    const runs: string[][] = [];
    for (const seed of ['alpha', 'alpha', 'beta']) {
      const d = tempDir();
      const s = await startTestSimulator({ dataDir: d.path, seed, faultRates: rates });
      const c = clientFor(s.url);
      const kinds: string[] = [];
      for (let i = 0; i < 40; i++) kinds.push((await c.payout(request(`SEEDED-${i}`))).kind);
      runs.push(kinds);
      await s.close();
      d.remove();
    }
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]).not.toEqual(runs[2]);
    // About half the calls hit a fault at these rates; all three kinds occur.
    expect(new Set(runs[0])).toEqual(new Set(['succeeded', 'failed', 'unknown']));
  });

  it('POST /_sim/faults sets the rates, GET shows them, bad ones are refused', async () => {
    expect(
      await control(sim.url, 'POST', '/_sim/faults', { rates: { 'fail:ACCOUNT_FROZEN': 1 } }),
    ).toMatchObject({ httpStatus: 200 });
    expect((await control(sim.url, 'GET', '/_sim/faults')).json).toMatchObject({
      rates: { 'fail:ACCOUNT_FROZEN': 1 },
    });
    expect(await client.payout(request(orderNo()))).toEqual({
      kind: 'failed',
      code: 'ACCOUNT_FROZEN',
    });
    // A header overrides the rates for its call.
    expect(await client.payout({ ...request(orderNo()), simFault: 'notify-none' })).toMatchObject({
      kind: 'succeeded',
    });
    expect(
      (
        await control(sim.url, 'POST', '/_sim/faults', {
          rates: { 'fail:X': 0.7, 'timeout-no-execute': 0.7 },
        })
      ).httpStatus,
    ).toBe(400);
    expect(
      (await control(sim.url, 'POST', '/_sim/faults', { rates: { nonsense: 0.1 } })).httpStatus,
    ).toBe(400);
    await control(sim.url, 'POST', '/_sim/faults', { rates: {} });
    expect(await client.payout(request(orderNo()))).toMatchObject({ kind: 'succeeded' });
  });
});
