// A PROCESSING order finishes even when its timer fires before the wall clock reaches its time
// (setTimeout and Date.now run on different clocks; on a loaded machine the timer's clock lags):
// it waits again instead of staying PROCESSING for good, which left CI's notice test waiting.
import { parseFault } from '../../gateway/simulator/faults';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { ACCOUNT, clientFor, orderNo, startTestSimulator, tempDir, waitUntil } from './helpers';

const dir = tempDir();
let sim: RunningSimulator;
const started = Date.now();
/** A wall clock that runs at half speed: every timer fires before its time by this clock. */
const slowClock = () => started + (Date.now() - started) / 2;

beforeAll(async () => {
  sim = await startTestSimulator({ dataDir: dir.path, now: slowClock, processingMs: 200 });
});
afterAll(async () => {
  await sim.close();
  dir.remove();
});

it('finishes a PROCESSING order whose timer fired early by the simulator’s clock', async () => {
  const spec = 'processing-then-success';
  sim.setFaultRates([{ spec, fault: parseFault(spec), rate: 1 }]);
  const no = orderNo();
  const answer = await clientFor(sim.url).payout({
    orderNo: no,
    amountMinor: 10_000n,
    currency: 'CNY',
    account: ACCOUNT,
  });
  expect(answer).toMatchObject({ kind: 'unknown' }); // PROCESSING, as the gateway answers it
  expect(sim.truth().find((r) => r.orderNo === no)?.status).toBe('PROCESSING');
  const settled = await waitUntil(
    'settled',
    () => sim.truth().find((r) => r.orderNo === no && r.status === 'SUCCESS'),
    5_000,
  );
  expect(settled.status).toBe('SUCCESS');
});
