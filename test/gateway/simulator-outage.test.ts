// Full outages: a closed listener (ECONNREFUSED → not_sent) and 503 for everything (unknown),
// both started and ended in-process and over the /_sim/outage control endpoint.
import type { RunningSimulator } from '../../gateway/simulator/server';
import { ACCOUNT, clientFor, control, orderNo, startTestSimulator, tempDir } from './helpers';

const dir = tempDir();
let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startTestSimulator({ dataDir: dir.path });
});
afterAll(async () => {
  await sim.close();
  dir.remove();
});

// Timeouts a loaded machine cannot miss (CI runs the chaos seeds beside this file): a refused
// connection fails at once whatever they are, and a 503 answers at once; a client that gave up
// early would read either as unknown.
const client = () => clientFor(sim.url, { connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 });
const payout = (no = orderNo('O')) =>
  client().payout({
    orderNo: no,
    amountMinor: 4_200n,
    currency: 'CNY',
    account: ACCOUNT,
  });

it('refuse: connections are refused (not_sent, nothing recorded), then it comes back on the same port', async () => {
  await sim.startOutage('refuse');
  const no = orderNo('O');
  expect(await payout(no)).toMatchObject({
    kind: 'not_sent',
    reason: expect.stringContaining('ECONNREFUSED'),
  });
  expect(sim.truth().find((r) => r.orderNo === no)).toBeUndefined();
  await sim.endOutage();
  // The same request, same order number, is now safe to send again.
  expect(await payout(no)).toMatchObject({ kind: 'succeeded' });
});

it('refuse over HTTP ends by itself after durationMs', async () => {
  expect(
    (await control(sim.url, 'POST', '/_sim/outage', { mode: 'refuse', durationMs: 300 }))
      .httpStatus,
  ).toBe(200);
  // The listener closes once the control answer has been written.
  await new Promise((r) => setTimeout(r, 30));
  expect((await payout()).kind).toBe('not_sent');
  await new Promise((r) => setTimeout(r, 400));
  expect((await payout()).kind).toBe('succeeded');
  expect((await control(sim.url, 'POST', '/_sim/outage', { mode: 'refuse' })).httpStatus).toBe(400);
});

it('503: every merchant call is unknown, control endpoints still answer, nothing is recorded', async () => {
  expect((await control(sim.url, 'POST', '/_sim/outage', { mode: '503' })).httpStatus).toBe(200);
  await new Promise((r) => setTimeout(r, 20));
  const no = orderNo('O');
  expect(await payout(no)).toMatchObject({ kind: 'unknown', httpStatus: 503 });
  expect(
    await client().query({
      orderNo: no,
      kind: 'PAYOUT',
      amountMinor: 4_200n,
      currency: 'CNY',
    }),
  ).toMatchObject({ kind: 'unknown', httpStatus: 503 });
  expect((await control(sim.url, 'GET', '/_sim/health')).json).toMatchObject({
    ok: true,
    outage: '503',
  });
  expect(sim.truth().find((r) => r.orderNo === no)).toBeUndefined();
  await control(sim.url, 'POST', '/_sim/outage', { mode: 'none' });
  expect(await payout(no)).toMatchObject({ kind: 'succeeded' });
});
