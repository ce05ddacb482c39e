// The simulator's truth: durable across restarts (including orders left PROCESSING and a torn
// last journal line), exposed at /_sim/truth, and the daily statement CSV matches it.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { formatWireAmount } from '../../ledger/money';
import { STATEMENT_COLUMNS } from '../../gateway/protocol';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { JOURNAL_FILE } from '../../gateway/simulator/truth-store';
import {
  ACCOUNT,
  FAST_TIMINGS,
  clientFor,
  control,
  orderNo,
  signedGet,
  startTestSimulator,
  tempDir,
} from './helpers';

const dir = tempDir();
let sim: RunningSimulator | undefined;
afterAll(async () => {
  await sim?.close();
  dir.remove();
});

async function restart(): Promise<RunningSimulator> {
  await sim?.close();
  sim = await startTestSimulator({ dataDir: dir.path });
  return sim;
}

const today = new Date().toISOString().slice(0, 10);

it('truth survives a restart: a repeat afterwards returns the first state and executes nothing', async () => {
  const s1 = await restart();
  const paid = orderNo('R');
  const refused = orderNo('R');
  expect(
    await clientFor(s1.url).payout({
      orderNo: paid,
      amountMinor: 7_700n,
      currency: 'CNY',
      account: ACCOUNT,
    }),
  ).toMatchObject({ kind: 'succeeded' });
  await clientFor(s1.url).payout({
    orderNo: refused,
    amountMinor: 100n,
    currency: 'CNY',
    account: ACCOUNT,
    simFault: 'fail:ACCOUNT_FROZEN',
  });
  const before = s1.truth();

  const s2 = await restart();
  expect(s2.truth()).toEqual(before);
  const c2 = clientFor(s2.url);
  expect(
    await c2.query({ orderNo: paid, kind: 'PAYOUT', amountMinor: 7_700n, currency: 'CNY' }),
  ).toMatchObject({ kind: 'succeeded' });
  expect(
    await c2.payout({ orderNo: refused, amountMinor: 100n, currency: 'CNY', account: ACCOUNT }),
  ).toEqual({ kind: 'failed', code: 'ACCOUNT_FROZEN' });
  expect(
    await c2.payout({ orderNo: paid, amountMinor: 7_700n, currency: 'CNY', account: ACCOUNT }),
  ).toMatchObject({ kind: 'succeeded' });
  expect(s2.truth().filter((r) => r.orderNo === paid)).toHaveLength(1);
});

it('an order PROCESSING at shutdown finishes as planned after the restart', async () => {
  const s1 = await restart();
  const no = orderNo('R');
  await clientFor(s1.url).payout({
    orderNo: no,
    amountMinor: 5_000n,
    currency: 'CNY',
    account: ACCOUNT,
    simFault: 'processing-then-success',
  });
  expect(s1.truth().find((r) => r.orderNo === no)?.status).toBe('PROCESSING');
  const s2 = await restart();
  await new Promise((r) => setTimeout(r, FAST_TIMINGS.processingMs + 100));
  expect(s2.truth().find((r) => r.orderNo === no)).toMatchObject({
    status: 'SUCCESS',
    feeMinor: 100n,
  });
});

it('a torn last journal line (crash mid-append) is ignored and the next snapshot starts a new line', async () => {
  await sim?.close();
  sim = undefined;
  appendFileSync(join(dir.path, JOURNAL_FILE), '{"orderNo":"TORN","kind":"PAY');
  const s = await restart();
  expect(s.truth().find((r) => r.orderNo === 'TORN')).toBeUndefined();
  const no = orderNo('R');
  await clientFor(s.url).payout({
    orderNo: no,
    amountMinor: 300n,
    currency: 'CNY',
    account: ACCOUNT,
  });
  const again = await restart();
  expect(again.truth().find((r) => r.orderNo === no)).toMatchObject({ status: 'SUCCESS' });
});

it('GET /_sim/truth gives the same records over HTTP, amounts as strings', async () => {
  const s = await restart();
  const { json } = await control(s.url, 'GET', '/_sim/truth');
  const orders = (json as { orders: Array<Record<string, unknown>> }).orders;
  expect(orders).toHaveLength(s.truth().length);
  const one = s.truth().find((r) => r.status === 'SUCCESS');
  expect(orders.find((o) => o.orderNo === one?.orderNo)).toMatchObject({
    amountMinor: one?.amountMinor.toString(),
    status: 'SUCCESS',
  });
  const single = await control(s.url, 'GET', `/_sim/truth?orderNo=${one?.orderNo ?? ''}`);
  expect((single.json as { orders: unknown[] }).orders).toHaveLength(1);
});

it('the statement CSV lists exactly the executed orders of the day, with fees, matching the truth', async () => {
  const s = await restart();
  const c = clientFor(s.url);
  await c.collect({
    orderNo: orderNo('S'),
    amountMinor: 123_456n,
    currency: 'CNY',
    account: ACCOUNT,
  });
  await c.payout({
    orderNo: orderNo('S'),
    amountMinor: 1n,
    currency: 'CNY',
    account: ACCOUNT,
    simFault: 'lie-failed',
  });
  await c.payout({
    orderNo: orderNo('S'),
    amountMinor: 999n,
    currency: 'CNY',
    account: ACCOUNT,
    simFault: 'fail:REJECTED',
  });
  await c.payout({
    orderNo: orderNo('S'),
    amountMinor: 999n,
    currency: 'CNY',
    account: ACCOUNT,
    simFault: 'timeout-no-execute',
  });

  const result = await signedGet(s.url, `/v1/statements/${today}`);
  expect(result).toMatchObject({ kind: 'response', httpStatus: 200 });
  if (result.kind !== 'response') return;
  const rows = parse(result.body, { columns: true }) as Array<Record<string, string>>;
  expect(Object.keys(rows[0])).toEqual([...STATEMENT_COLUMNS]);
  const executed = s
    .truth()
    .filter((r) => r.status === 'SUCCESS' && r.executedAt?.startsWith(today));
  const expected = executed.map((r) => ({
    order_no: r.orderNo,
    gateway_trade_no: r.gatewayTradeNo,
    kind: r.kind,
    status: 'SUCCESS',
    amount: formatWireAmount(r.amountMinor, r.currency),
    currency: r.currency,
    fee: formatWireAmount(r.feeMinor ?? -1n, r.currency),
    executed_at: r.executedAt,
  }));
  const byOrder = (a: { order_no?: string }, b: { order_no?: string }) =>
    (a.order_no ?? '').localeCompare(b.order_no ?? '');
  expect([...rows].sort(byOrder)).toEqual([...expected].sort(byOrder));
  // The lie is on the statement (executed), the refusal and the non-execution are not.
  expect(rows.some((r) => r.amount === '0.01')).toBe(true);
  expect(rows.some((r) => r.amount === '9.99')).toBe(false);
  expect(rows.find((r) => r.amount === '1234.56')).toMatchObject({
    kind: 'COLLECTION',
    fee: '3.70',
  });
});

it('another day has a header-only statement; a bad date is 400; statements need the signature', async () => {
  const s = await restart();
  const other = await signedGet(s.url, '/v1/statements/2001-01-01');
  expect(other).toMatchObject({
    kind: 'response',
    httpStatus: 200,
    body: `${STATEMENT_COLUMNS.join(',')}\n`,
  });
  expect(await signedGet(s.url, '/v1/statements/2001-02-30')).toMatchObject({
    kind: 'response',
    httpStatus: 400,
  });
  const unsigned = await control(s.url, 'GET', `/v1/statements/${today}`);
  expect(unsigned.httpStatus).toBe(401);
});

it('a large statement streams (10,000 executed orders)', async () => {
  await sim?.close();
  const big = tempDir();
  // Write the journal directly: the point is the statement's streaming, not 10k HTTP calls.
  const lines: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    lines.push(
      JSON.stringify({
        orderNo: `BIG-${i}`,
        kind: 'PAYOUT',
        amountMinor: String(100 + i),
        currency: 'CNY',
        account: ACCOUNT,
        requestHash: 'h',
        gatewayTradeNo: `GW${i}`,
        status: 'SUCCESS',
        feeMinor: '100',
        receivedAt: `${today}T01:00:00.000Z`,
        executedAt: `${today}T01:00:00.000Z`,
        notifyFaults: [],
      }),
    );
  }
  appendFileSync(join(big.path, JOURNAL_FILE), `${lines.join('\n')}\n`);
  sim = await startTestSimulator({ dataDir: big.path });
  const result = await signedGet(sim.url, `/v1/statements/${today}`, 10_000);
  expect(result.kind === 'response' && result.body.trimEnd().split('\n').length).toBe(10_001);
  if (result.kind === 'response')
    expect(result.body).toContain('BIG-9999,GW9999,PAYOUT,SUCCESS,100.99,CNY,1.00,');
  await sim.close();
  sim = undefined;
  big.remove();
});
