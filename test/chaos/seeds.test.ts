// CI's chaos seeds (docs/reliability.md): `npm run chaos` over its own real processes, for a fixed
// small set of seeds with few steps. Every invariant must hold after each seed settles; a failure
// prints the seed and the command that replays it. Add a seed here for every violation fixed.
//
// The seeds run at once (it.concurrent): each has its own processes, ports and Postgres slot, and
// most of a seed's time is its compressed calendar waiting, so together they take about as long
// as the longest one alone instead of the sum of all seven.
import { runToEnd } from '../helpers/processes';

interface CiSeed {
  seed: number;
  steps: number;
  /** Why the seed is here: a fault it draws, or the violation it found once. */
  why: string;
  weights: string[];
  /** What the seed's schedule must have injected (`npm run chaos -- --seed N --steps S --plan`). */
  injects: RegExp[];
}

const CI_SEEDS: CiSeed[] = [
  {
    seed: 2,
    steps: 12,
    why: 'draws a Temporal restart',
    weights: [],
    injects: [/kill:/, /temporal:restart=/],
  },
  {
    seed: 9,
    steps: 12,
    why: 'draws an immediate Postgres restart',
    weights: [],
    injects: [/kill:/, /postgres:immediate-restart=/],
  },
  // The seeds that found a violation, once it was fixed (docs/reliability.md, "Violations found"),
  // with the step weights they were found with: violations 3 and 4 came from Postgres restarts
  // weighted 30.
  { seed: 6, steps: 60, why: 'violation 1', weights: [], injects: [] },
  { seed: 26, steps: 40, why: 'violation 2', weights: [], injects: [] },
  { seed: 11, steps: 15, why: 'violation 3', weights: ['pg-restart=30'], injects: [] },
  { seed: 15, steps: 50, why: 'violation 4', weights: ['pg-restart=30'], injects: [] },
  { seed: 53, steps: 40, why: 'violation 5', weights: [], injects: [] },
];

/**
 * A seed alone takes 50-190 s here; seven at once on two cores, beside the other test files, up to
 * about three times that.
 */
const SEED_MINUTES = 12;

it.concurrent.each(CI_SEEDS)(
  'chaos seed $seed ($steps steps $weights, $why): every invariant holds',
  async ({ seed, steps, weights, injects }) => {
    const args = [
      '--seed',
      String(seed),
      '--steps',
      String(steps),
      '--max-minutes',
      String(SEED_MINUTES),
      ...weights.flatMap((w) => ['--weight', w]),
    ];
    const { code, output } = await runToEnd('chaos/main.ts', args, {}, (SEED_MINUTES + 2) * 60_000);
    // The seed's verdict, time and what it injected, for the CI log (docs/reliability.md keeps the
    // figures).
    console.log(
      code === 0
        ? output
            .split('\n')
            .filter((l) => /^(== seed| {3}injected)/.test(l))
            .join('\n')
        : output.slice(-20_000),
    );
    expect(output).toContain(`== seed ${seed}: every invariant holds`);
    // the processes lived through it
    for (const kind of injects) expect(output).toMatch(new RegExp(`injected: .*${kind.source}`));
    expect(code).toBe(0);
  },
  (SEED_MINUTES + 3) * 60_000,
);
