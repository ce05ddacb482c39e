// The chaos schedule's coverage and shrinking, without running anything: the "done when"
// is 200 seeds with every fault kind injected at least 50 times. The step-driven kinds are drawn
// up front, so their figures for seeds 1-200 at the default 40 steps are checked here exactly
// (docs/reliability.md, "Coverage", has the arithmetic; the gateway's call faults also need a
// submit to meet them, so for those it is the number of rate tables that hold each one).
import { Prng } from '../../chaos/prng';
import { drawSchedule, GATEWAY_FAULTS, planned } from '../../chaos/schedule';
import { fewestFailingSteps } from '../../chaos/shrink';

function plannedFor(seeds: number, steps: number): Record<string, number> {
  const totals: Record<string, number> = {};
  for (let seed = 1; seed <= seeds; seed++) {
    const master = new Prng(seed);
    master.int(1, 2 ** 31 - 1); // the workload's stream comes first (chaos/run.ts)
    for (const [kind, n] of Object.entries(
      planned(drawSchedule(new Prng(master.int(1, 2 ** 31 - 1)), steps)),
    ))
      totals[kind] = (totals[kind] ?? 0) + n;
  }
  return totals;
}

it('200 seeds of 40 steps draw every step-driven fault kind at least 50 times (with room for steps that find nothing yet)', () => {
  const totals = plannedFor(200, 40);
  const kinds = [
    'kill:api',
    'kill:worker',
    'kill:dispatcher',
    'temporal:restart',
    'gateway:outage-refuse',
    'gateway:outage-503',
    'gateway:second-channel',
    'gateway:forged-notice',
    'gateway:notice-wrong-amount',
    'gateway:notice-wrong-currency',
    'gateway:notice-wrong-kind',
    'gateway:notice-says-success',
    'gateway:notice-says-failed',
    'gateway:notice-duplicate-after-restart',
    'gateway:statement-amount',
    'gateway:statement-fee',
    'gateway:statement-duplicate',
    'step:recovery',
    'step:recon-racing-rematch',
  ];
  const short = (names: readonly string[], min: number) =>
    Object.fromEntries(
      names.map((k) => [k, totals[k] ?? 0]).filter(([, n]) => (n as number) < min),
    );
  expect(short(kinds, 100)).toEqual({});
  // Every gateway fault sits in enough rate tables for submits to meet it (arithmetic in
  // docs/reliability.md).
  expect(
    short(
      GATEWAY_FAULTS.map((spec) => `rates:${spec}`),
      200,
    ),
  ).toEqual({});
});

it('a shorter run is the first steps of the longer schedule (what shrinking relies on)', () => {
  const long = drawSchedule(new Prng(42), 40);
  expect(drawSchedule(new Prng(42), 13)).toEqual(long.slice(0, 13));
});

describe('fewestFailingSteps', () => {
  const failingFrom = (k: number) => async (steps: number) => steps >= k;

  it('halves, then bisects, to the fewest steps that fail', async () => {
    const found = await fewestFailingSteps(60, failingFrom(23), 20);
    expect(found).toEqual({ fewest: 23, passed: 22, tried: [30, 15, 22, 26, 24, 23] });
  });

  it('goes down to no steps at all when the workload alone fails', async () => {
    expect(await fewestFailingSteps(8, failingFrom(0), 20)).toEqual({
      fewest: 0,
      passed: -1,
      tried: [4, 2, 1, 0],
    });
  });

  it('stops after the bound on re-runs with the fewest seen failing', async () => {
    const found = await fewestFailingSteps(100, failingFrom(30), 3);
    expect(found).toEqual({ fewest: 37, passed: 25, tried: [50, 25, 37] });
  });
});
