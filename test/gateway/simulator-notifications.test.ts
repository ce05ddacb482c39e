// Notifications from the real simulator: signed, retried until acked, bounded, duplicated, out
// of order, late, and the faulty ones (wrong amount, status 0, bad signature) caught by
// verifyNotification.
import type { GatewayClient } from '../../gateway/client';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { verifyNotification, type ExpectedOrder } from '../../gateway/verify-notification';
import {
  ACCOUNT,
  FAST_TIMINGS,
  NotificationReceiver,
  SECRET,
  clientFor,
  orderNo,
  startTestSimulator,
  tempDir,
  waitUntil,
  type ReceivedNotification,
} from './helpers';

const dir = tempDir();
const receiver = new NotificationReceiver();
let sim: RunningSimulator;
let client: GatewayClient;
const expected = new Map<string, ExpectedOrder>();

beforeAll(async () => {
  sim = await startTestSimulator({ dataDir: dir.path, notifyUrl: await receiver.start() });
  client = clientFor(sim.url);
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
  dir.remove();
});
beforeEach(() => {
  receiver.failFirst = 0;
});

async function submit(simFault?: string): Promise<string> {
  const no = orderNo('N');
  expected.set(no, { amountMinor: 20_000n, currency: 'CNY', kind: 'PAYOUT' });
  await client.payout({
    orderNo: no,
    amountMinor: 20_000n,
    currency: 'CNY',
    account: ACCOUNT,
    ...(simFault ? { simFault } : {}),
  });
  return no;
}

const verify = (n: ReceivedNotification) =>
  verifyNotification({
    rawBody: n.rawBody,
    headers: n.headers as Record<string, string>,
    secret: SECRET,
    nowMs: Date.now(),
    lookupOrder: (no) => expected.get(no),
  });

it('a success is notified once, signed over timestamp.body, and verifies', async () => {
  const no = await submit();
  const [n] = await waitUntil(
    'notification',
    () => receiver.forOrder(no).length === 1 && receiver.forOrder(no),
  );
  expect(n.headers['x-gateway-attempt']).toBe('1');
  expect(await verify(n)).toMatchObject({
    ok: true,
    notification: { orderNo: no, amountMinor: 20_000n, feeMinor: 100n },
  });
  await new Promise((r) => setTimeout(r, 150));
  expect(receiver.forOrder(no)).toHaveLength(1);
});

it('is retried with backoff until acknowledged with 2xx', async () => {
  receiver.failFirst = 2;
  const no = await submit();
  const got = await waitUntil(
    'ack',
    () => receiver.forOrder(no).find((n) => n.answered === 200) && receiver.forOrder(no),
  );
  expect(got.map((n) => [n.headers['x-gateway-attempt'], n.answered])).toEqual([
    ['1', 500],
    ['2', 500],
    ['3', 200],
  ]);
  // Backoff doubles: the third attempt comes at least 40 + 80 ms after the first.
  expect(got[2].receivedAtMs - got[0].receivedAtMs).toBeGreaterThanOrEqual(
    FAST_TIMINGS.notifyBackoffMs * 3 - 5,
  );
  // Each attempt is signed afresh and verifies.
  for (const n of got) expect((await verify(n)).ok).toBe(true);
  // The simulator records the acknowledgement once it has read the answer, a moment after the
  // receiver sent it.
  const results = await waitUntil('the simulator records the ack', () => {
    const r = sim
      .notifications()
      .filter((a) => a.orderNo === no)
      .map((a) => a.result);
    return r.includes('acked') && r;
  });
  expect(results).toEqual(['http 500', 'http 500', 'acked']);
});

it('gives up after the bounded number of attempts', async () => {
  receiver.failFirst = 100;
  const no = await submit();
  await waitUntil(
    'attempts',
    () => receiver.forOrder(no).length === FAST_TIMINGS.notifyMaxAttempts,
  );
  await new Promise((r) => setTimeout(r, FAST_TIMINGS.notifyBackoffMaxMs * 2));
  expect(receiver.forOrder(no)).toHaveLength(FAST_TIMINGS.notifyMaxAttempts);
});

it('notify-duplicate delivers the same notification twice', async () => {
  const no = await submit('notify-duplicate');
  const got = await waitUntil(
    'two',
    () => receiver.forOrder(no).length === 2 && receiver.forOrder(no),
  );
  expect(got[0].body.notifyId).toBe(got[1].body.notifyId);
  expect(got[0].rawBody.equals(got[1].rawBody)).toBe(true);
});

it('notify-out-of-order delivers a stale PROCESSING after the final SUCCESS', async () => {
  const no = await submit('notify-out-of-order');
  const got = await waitUntil(
    'two',
    () => receiver.forOrder(no).length === 2 && receiver.forOrder(no),
  );
  expect(got.map((n) => [n.body.status, n.body.eventSeq])).toEqual([
    ['SUCCESS', 2],
    ['PROCESSING', 1],
  ]);
  expect(await verify(got[1])).toMatchObject({ ok: false, reason: 'STATUS_NOT_SUCCESS' });
});

it('a PROCESSING order notifies its final state when it finishes', async () => {
  const no = await submit('processing-then-fail:ACCOUNT_CLOSED');
  await new Promise((r) => setTimeout(r, 100));
  expect(receiver.forOrder(no)).toHaveLength(0);
  // At least once: on a loaded machine a slow answer makes the gateway send it again.
  const [n] = await waitUntil(
    'final',
    () => receiver.forOrder(no).length >= 1 && receiver.forOrder(no),
  );
  expect(await verify(n)).toMatchObject({
    ok: false,
    reason: 'REPORTED_FAILED',
    code: 'ACCOUNT_CLOSED',
    definitive: true,
  });
});

it('notify-late arrives only after the configured delay', async () => {
  const started = Date.now();
  const no = await submit('notify-late');
  const [n] = await waitUntil(
    'late',
    () => receiver.forOrder(no).length === 1 && receiver.forOrder(no),
    3_000,
  );
  expect(n.receivedAtMs - started).toBeGreaterThanOrEqual(FAST_TIMINGS.lateNotifyMs - 10);
});

it('notify-wrong-amount is signed correctly but fails AMOUNT_MISMATCH', async () => {
  const no = await submit('notify-wrong-amount');
  const [n] = await waitUntil(
    'n',
    () => receiver.forOrder(no).length === 1 && receiver.forOrder(no),
  );
  expect(n.body).toMatchObject({ status: 'SUCCESS', amount: '199.99' });
  expect(await verify(n)).toMatchObject({ ok: false, reason: 'AMOUNT_MISMATCH' });
});

it('notify-status-0 sends status "0" with the right amount first, which must not verify', async () => {
  const no = await submit('fail:INSUFFICIENT_FUNDS,notify-status-0');
  const got = await waitUntil(
    'two',
    () => receiver.forOrder(no).length === 2 && receiver.forOrder(no),
  );
  expect(got[0].body).toMatchObject({ status: '0', amount: '200.00' });
  expect(await verify(got[0])).toMatchObject({ ok: false, reason: 'STATUS_NOT_SUCCESS' });
  expect(await verify(got[1])).toMatchObject({
    ok: false,
    reason: 'REPORTED_FAILED',
    definitive: true,
  });
});

it('notify-bad-signature is signed with a key the merchant does not have: BAD_SIGNATURE', async () => {
  const no = await submit('notify-bad-signature');
  const [n] = await waitUntil(
    'n',
    () => receiver.forOrder(no).length === 1 && receiver.forOrder(no),
  );
  expect(await verify(n)).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
  expect(sim.notifications().find((a) => a.orderNo === no)).toMatchObject({ badSignature: true });
});

it('notify-none sends nothing, while the order is executed', async () => {
  const no = await submit('notify-none');
  await new Promise((r) => setTimeout(r, 200));
  expect(receiver.forOrder(no)).toHaveLength(0);
  expect(sim.truth().find((r) => r.orderNo === no)?.status).toBe('SUCCESS');
});

it('a repeated order number sends no second notification', async () => {
  const no = await submit();
  await waitUntil('first', () => receiver.forOrder(no).length === 1);
  await client.payout({ orderNo: no, amountMinor: 20_000n, currency: 'CNY', account: ACCOUNT });
  await new Promise((r) => setTimeout(r, 150));
  expect(receiver.forOrder(no)).toHaveLength(1);
});
