// CI's chaos seeds (docs/reliability.md): `npm run chaos` over its own real processes, for a fixed
// small set of seeds with few steps. Every invariant must hold after each seed settles; a failure
// prints the seed and the command that replays it. Add a seed here for every violation fixed.
import { runToEnd } from '../helpers/processes';

const CI_SEEDS = { first: 1, count: 2, steps: 12 };

it(`chaos seeds ${CI_SEEDS.first}..${CI_SEEDS.first + CI_SEEDS.count - 1} (${CI_SEEDS.steps} steps each): every invariant holds`, async () => {
  const { code, output } = await runToEnd('chaos/main.ts', [
    '--seed', String(CI_SEEDS.first), '--seeds', String(CI_SEEDS.count), '--steps', String(CI_SEEDS.steps), '--max-minutes', '4',
  ], {}, 420_000);
  // Each seed's verdict, time and what it injected, for the CI log (docs/reliability.md keeps the figures).
  console.log(code === 0 ? output.split('\n').filter((l) => /^(== seed| {3}injected|\d+ seed\(s\)|injected:)/.test(l)).join('\n') : output.slice(-20_000));
  for (let seed = CI_SEEDS.first; seed < CI_SEEDS.first + CI_SEEDS.count; seed++) expect(output).toContain(`== seed ${seed}: every invariant holds`);
  expect(output).toMatch(/injected: .*kill:/); // the schedule did inject faults
  expect(output).toContain(`${CI_SEEDS.count} seed(s), 0 failed`);
  expect(code).toBe(0);
}, 480_000);

/** Seeds that found a violation, once it was fixed (docs/reliability.md, "Violations found"). */
const REGRESSION_SEEDS = [{ seed: 26, steps: 40, violation: 2 }];

it.each(REGRESSION_SEEDS)('chaos seed $seed ($steps steps, violation $violation once): every invariant holds', async ({ seed, steps }) => {
  const { code, output } = await runToEnd('chaos/main.ts', ['--seed', String(seed), '--steps', String(steps), '--max-minutes', '8'], {}, 780_000);
  console.log(code === 0 ? output.split('\n').filter((l) => /^(== seed| {3}injected)/.test(l)).join('\n') : output.slice(-20_000));
  expect(output).toContain(`== seed ${seed}: every invariant holds`);
  expect(code).toBe(0);
}, 840_000);
