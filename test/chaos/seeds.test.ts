// CI's chaos seeds (docs/reliability.md): `npm run chaos` over its own real processes, for a fixed
// small set of seeds with few steps. Every invariant must hold after each seed settles; a failure
// prints the seed and the command that replays it. Add a seed here for every violation fixed.
import { runToEnd } from '../helpers/processes';

/** Seed 2 draws a Temporal restart and seed 9 an immediate Postgres restart (`npm run chaos -- --seed N --steps 12 --plan`). */
const CI_SEEDS = { seeds: [2, 9], steps: 12 };

it.each(CI_SEEDS.seeds)(
  `chaos seed %d (${CI_SEEDS.steps} steps): every invariant holds`,
  async (seed) => {
    const { code, output } = await runToEnd(
      'chaos/main.ts',
      ['--seed', String(seed), '--steps', String(CI_SEEDS.steps), '--max-minutes', '4'],
      {},
      420_000,
    );
    // The seed's verdict, time and what it injected, for the CI log (docs/reliability.md keeps the figures).
    console.log(
      code === 0
        ? output
            .split('\n')
            .filter((l) => /^(== seed| {3}injected|\d+ seed\(s\)|injected:)/.test(l))
            .join('\n')
        : output.slice(-20_000),
    );
    expect(output).toContain(`== seed ${seed}: every invariant holds`);
    expect(output).toMatch(/injected: .*kill:/); // the schedule did inject faults
    if (seed === 9) expect(output).toMatch(/injected: .*postgres:immediate-restart=/); // the processes live through it
    if (seed === 2) expect(output).toMatch(/injected: .*temporal:restart=/);
    expect(code).toBe(0);
  },
  480_000,
);

/**
 * Seeds that found a violation, once it was fixed (docs/reliability.md, "Violations found"), with
 * the step weights they were found with: violations 3 and 4 came from Postgres restarts weighted 30.
 */
const REGRESSION_SEEDS = [
  { seed: 6, steps: 60, violation: '1', weights: [] },
  { seed: 26, steps: 40, violation: '2', weights: [] },
  { seed: 11, steps: 15, violation: '3', weights: ['pg-restart=30'] },
  { seed: 15, steps: 50, violation: '4', weights: ['pg-restart=30'] },
];

it.each(REGRESSION_SEEDS)(
  'chaos seed $seed ($steps steps $weights, violation $violation once): every invariant holds',
  async ({ seed, steps, weights }) => {
    const args = [
      '--seed',
      String(seed),
      '--steps',
      String(steps),
      '--max-minutes',
      '8',
      ...weights.flatMap((w) => ['--weight', w]),
    ];
    const { code, output } = await runToEnd('chaos/main.ts', args, {}, 780_000);
    console.log(
      code === 0
        ? output
            .split('\n')
            .filter((l) => /^(== seed| {3}injected)/.test(l))
            .join('\n')
        : output.slice(-20_000),
    );
    expect(output).toContain(`== seed ${seed}: every invariant holds`);
    expect(code).toBe(0);
  },
  840_000,
);
