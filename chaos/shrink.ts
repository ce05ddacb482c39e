// Shrinking a failing seed (`npm run chaos -- --seed N --steps S --shrink`): the schedule is drawn
// step by step from the seed's own stream, so `--steps k` runs the first k steps of the longer
// schedule with the same workload and the same operators' stream. The search halves the step
// count while the seed still fails, then bisects between the last count that passed and the
// fewest that failed. A pass may be the interleaving's luck (docs/reliability.md): the answer is
// the fewest steps seen failing within the bound on re-runs, not a proof that fewer never fail.

export interface ShrinkResult {
  /** The fewest steps seen failing. */
  fewest: number;
  /** The most steps seen passing below it (-1: none). */
  passed: number;
  /** Step counts tried, in order. */
  tried: number[];
}

export async function fewestFailingSteps(
  steps: number,
  fails: (steps: number) => Promise<boolean>,
  maxRuns: number,
): Promise<ShrinkResult> {
  let fewest = steps;
  let passed = -1;
  const tried: number[] = [];
  while (tried.length < maxRuns && fewest - passed > 1) {
    const next = passed < 0 ? Math.floor(fewest / 2) : Math.floor((passed + fewest) / 2);
    tried.push(next);
    if (await fails(next)) fewest = next;
    else passed = next;
  }
  return { fewest, passed, tried };
}
