// The client's classification of every gateway answer and fault, against the real simulator;
// each case also checks the simulator's truth, so "unknown" is shown to hide real outcomes.
import type { GatewayClient } from '../../gateway/client';
import type { RunningSimulator } from '../../gateway/simulator/server';
import {
  ACCOUNT,
  CLIENT_TIMEOUT_MS,
  FAST_TIMINGS,
  clientFor,
  orderNo,
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

const amountMinor = 123_456n; // 1234.56 CNY
const payout = (no: string, simFault?: string) =>
  client.payout({
    orderNo: no,
    amountMinor,
    currency: 'CNY',
    account: ACCOUNT,
    ...(simFault ? { simFault } : {}),
  });
const query = (no: string, simFault?: string) =>
  client.query({
    orderNo: no,
    kind: 'PAYOUT',
    amountMinor,
    currency: 'CNY',
    ...(simFault ? { simFault } : {}),
  });
const truthOf = (no: string) => sim.truth().find((r) => r.orderNo === no);

describe('submit outcomes', () => {
  it('success is succeeded, with the amount, fee and trade number, and executed in truth', async () => {
    const no = orderNo();
    const outcome = await payout(no);
    expect(outcome).toEqual({
      kind: 'succeeded',
      order: expect.objectContaining({
        orderNo: no,
        kind: 'PAYOUT',
        amountMinor,
        currency: 'CNY',
        feeMinor: 100n,
      }),
    });
    expect(truthOf(no)).toMatchObject({ status: 'SUCCESS', amountMinor });
  });

  it.each(['INSUFFICIENT_FUNDS', 'INVALID_ACCOUNT', 'ACCOUNT_FROZEN', 'REJECTED'])(
    'a listed code (%s) is failed, not executed',
    async (code) => {
      const no = orderNo();
      expect(await payout(no, `fail:${code}`)).toEqual({ kind: 'failed', code });
      expect(truthOf(no)).toMatchObject({ status: 'FAILED', code });
      expect(await query(no)).toEqual({ kind: 'failed', code });
    },
  );

  it('a failure code not on the list is unknown, on submit and on query', async () => {
    const no = orderNo();
    const outcome = await payout(no, 'fail:SYSTEM_BUSY');
    expect(outcome).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('SYSTEM_BUSY'),
    });
    expect(await query(no)).toMatchObject({ kind: 'unknown' });
  });

  it('"failed" for a payout the gateway executed is unknown, and the query finds the success', async () => {
    const no = orderNo();
    expect(await payout(no, 'lie-failed')).toMatchObject({ kind: 'unknown' });
    expect(truthOf(no)).toMatchObject({ status: 'SUCCESS', answeredAs: 'FAILED:SYSTEM_BUSY' });
    expect(await query(no)).toMatchObject({ kind: 'succeeded' });
  });

  it('a lie with a listed code is believed by the client: only the truth/statement can catch it', async () => {
    const no = orderNo();
    // Documents the limit of classification: reconciliation, not the client, finds this one.
    expect(await payout(no, 'lie-failed:REJECTED')).toEqual({ kind: 'failed', code: 'REJECTED' });
    expect(truthOf(no)).toMatchObject({ status: 'SUCCESS' });
  });

  it('a timeout past the deadline is unknown; the gateway executes after it', async () => {
    const no = orderNo();
    const started = Date.now();
    const outcome = await payout(no, 'timeout-then-execute');
    expect(outcome).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('no complete answer'),
    });
    expect(Date.now() - started).toBeLessThan(FAST_TIMINGS.timeoutHoldMs);
    expect(await query(no)).toEqual({ kind: 'processing' });
    await new Promise((r) => setTimeout(r, FAST_TIMINGS.timeoutHoldMs));
    expect(await query(no)).toMatchObject({ kind: 'succeeded' });
    expect(truthOf(no)).toMatchObject({ status: 'SUCCESS' });
  });

  it('a timeout where the gateway never executes is unknown, and the query says not_found', async () => {
    const no = orderNo();
    expect(await payout(no, 'timeout-no-execute')).toMatchObject({ kind: 'unknown' });
    await new Promise((r) => setTimeout(r, FAST_TIMINGS.timeoutHoldMs));
    expect(await query(no)).toEqual({ kind: 'not_found' });
    expect(truthOf(no)).toBeUndefined();
  });

  it('a patient client sees the held answer of timeout-then-execute as success', async () => {
    const patient = clientFor(sim.url, { requestTimeoutMs: FAST_TIMINGS.timeoutHoldMs + 1_000 });
    const outcome = await patient.payout({
      orderNo: orderNo(),
      amountMinor,
      currency: 'CNY',
      account: ACCOUNT,
      simFault: 'timeout-then-execute',
    });
    expect(outcome.kind).toBe('succeeded');
  });

  it.each([
    ['error-5xx-before-execute', undefined],
    ['error-5xx-after-execute', 'SUCCESS'],
    ['reset-before-execute', undefined],
    ['reset-after-execute', 'SUCCESS'],
  ])('%s is unknown (truth: %s)', async (fault, truthStatus) => {
    const no = orderNo();
    const outcome = await payout(no, fault);
    expect(outcome.kind).toBe('unknown');
    if (fault.startsWith('error-5xx'))
      expect(outcome).toMatchObject({ httpStatus: fault.includes('before') ? 503 : 500 });
    else
      expect(outcome).toMatchObject({ reason: expect.stringMatching(/ECONNRESET|socket hang up/) });
    expect(truthOf(no)?.status).toBe(truthStatus);
    expect((await query(no)).kind).toBe(truthStatus === undefined ? 'not_found' : 'succeeded');
  });

  it('PROCESSING is unknown; the query says processing, then the final state', async () => {
    const ok = orderNo();
    const ko = orderNo();
    expect(await payout(ok, 'processing-then-success')).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('PROCESSING'),
    });
    expect(await payout(ko, 'processing-then-fail:ACCOUNT_FROZEN')).toMatchObject({
      kind: 'unknown',
    });
    expect(await query(ok)).toEqual({ kind: 'processing' });
    await new Promise((r) => setTimeout(r, FAST_TIMINGS.processingMs + 100));
    expect(await query(ok)).toMatchObject({ kind: 'succeeded' });
    expect(await query(ko)).toEqual({ kind: 'failed', code: 'ACCOUNT_FROZEN' });
  });

  it('a stuck order stays unknown however often it is queried, and never executes', async () => {
    const stuck = orderNo();
    expect(await payout(stuck, 'processing-stuck')).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('PROCESSING'),
    });
    await new Promise((r) => setTimeout(r, FAST_TIMINGS.processingMs + 100));
    expect(await query(stuck)).toEqual({ kind: 'processing' });
    expect(truthOf(stuck)?.status).toBe('PROCESSING');
  });

  it('a refused connection is not_sent, and nothing reached the gateway', async () => {
    const closedDir = tempDir();
    const gone = await startTestSimulator({ dataDir: closedDir.path });
    await gone.close();
    const outcome = await clientFor(gone.url).payout({
      orderNo: orderNo(),
      amountMinor,
      currency: 'CNY',
      account: ACCOUNT,
    });
    expect(outcome).toMatchObject({
      kind: 'not_sent',
      reason: expect.stringContaining('ECONNREFUSED'),
    });
    expect(
      await clientFor(gone.url).query({
        orderNo: 'X1',
        kind: 'PAYOUT',
        amountMinor,
        currency: 'CNY',
      }),
    ).toMatchObject({ kind: 'not_sent' });
    closedDir.remove();
  });

  it('a name that does not resolve is not_sent', async () => {
    // .invalid never resolves (RFC 6761): no connection, so nothing was sent.
    const outcome = await clientFor('http://gateway.invalid:4100').payout({
      orderNo: orderNo(),
      amountMinor,
      currency: 'CNY',
      account: ACCOUNT,
    });
    expect(outcome).toMatchObject({
      kind: 'not_sent',
      reason: expect.stringMatching(/ENOTFOUND|EAI_AGAIN/),
    });
  });

  it('a wrong secret is unknown (HTTP 401), never failed', async () => {
    const outcome = await clientFor(sim.url, { secret: 'another-secret-0123456789' }).payout({
      orderNo: orderNo(),
      amountMinor,
      currency: 'CNY',
      account: ACCOUNT,
    });
    expect(outcome).toMatchObject({
      kind: 'unknown',
      httpStatus: 401,
      reason: expect.stringContaining('AUTH_FAILED'),
    });
  });
});

describe('query outcomes', () => {
  it('an order never sent is not_found', async () => {
    expect(await query(orderNo())).toEqual({ kind: 'not_found' });
  });

  it('a success for another amount than ours is unknown, not succeeded', async () => {
    const no = orderNo();
    await payout(no);
    expect(
      await client.query({
        orderNo: no,
        kind: 'PAYOUT',
        amountMinor: amountMinor + 1n,
        currency: 'CNY',
      }),
    ).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('not our amount') });
    expect(
      await client.query({ orderNo: no, kind: 'COLLECTION', amountMinor, currency: 'CNY' }),
    ).toMatchObject({ kind: 'unknown' });
  });

  it.each(['error-5xx-before-execute', 'reset-before-execute', 'timeout-no-execute'])(
    'query fault %s is unknown',
    async (fault) => {
      const no = orderNo();
      await payout(no);
      const started = Date.now();
      expect((await query(no, fault)).kind).toBe('unknown');
      expect(Date.now() - started).toBeLessThan(CLIENT_TIMEOUT_MS + 200);
    },
  );
});

describe('collections', () => {
  it('collect succeeds with the percentage fee and a listed failure is failed', async () => {
    const no = orderNo('C');
    const outcome = await client.collect({
      orderNo: no,
      amountMinor: 1_000_000n,
      currency: 'CNY',
      account: ACCOUNT,
    });
    expect(outcome).toMatchObject({
      kind: 'succeeded',
      order: { kind: 'COLLECTION', feeMinor: 3_000n },
    });
    expect(
      await client.collect({
        orderNo: orderNo('C'),
        amountMinor: 500n,
        currency: 'CNY',
        account: ACCOUNT,
        simFault: 'fail:INSUFFICIENT_FUNDS',
      }),
    ).toEqual({ kind: 'failed', code: 'INSUFFICIENT_FUNDS' });
  });
});
