// npm run chaos -- --seed 42 --steps 300
//   one seeded schedule over the real processes
// npm run chaos -- --seeds 200 [--seed 1]
//   seeds 1..200 (or from --seed), one after another
// npm run chaos -- --seed 6 --steps 60 --shrink
//   a failing seed re-run with fewer steps, down to the fewest that still fail
// npm run chaos -- --seeds 200 --plan
//   what the schedules of those seeds would inject (nothing runs)
// npm run chaos -- --seed 15 --steps 50 --weight pg-restart=30
//   a step kind weighted otherwise (part of the replay command)
// A failing seed prints what broke and the command that replays its schedule; exit code 1.
import { appendFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { releaseChaosPostgres } from './postgres';
import { Prng } from './prng';
import { reproduce, runningStacks, runSeed, type RunResult } from './run';
import {
  drawSchedule,
  planned,
  STEP_WEIGHTS,
  type StepKind,
  type WeightOverrides,
} from './schedule';
import { fewestFailingSteps } from './shrink';

process.env.APP_ENV = 'test'; // the run's processes and database are test ones (config/env.ts)

const int = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`a whole number from ${min} to ${max}`);
  return n;
};

/** `kind=n`, repeatable: the step kind's weight for this run (chaos/schedule.ts STEP_WEIGHTS). */
const weight = (value: string, previous: WeightOverrides = {}): WeightOverrides => {
  const m = /^([a-z-]+)=(\d{1,4})$/.exec(value);
  if (!m || !(m[1] in STEP_WEIGHTS))
    throw new InvalidArgumentError(`kind=n with a kind of ${Object.keys(STEP_WEIGHTS).join(', ')}`);
  return { ...previous, [m[1] as StepKind]: Number(m[2]) };
};

const opts = new Command()
  .name('npm run chaos --')
  .description(
    'Seeded faults, interleavings and operators over the real API, worker, dispatcher, Temporal and gateway; the money invariants checked after each run.',
  )
  .option('--seed <n>', 'the seed (with --seeds: the first one)', int(1, 2 ** 31 - 1))
  .option('--steps <n>', 'chaos steps per seed', int(0, 10_000), 40)
  .option('--seeds <k>', 'run k seeds one after another', int(1, 100_000))
  .option('--max-minutes <m>', 'wall-clock bound of each seed', int(1, 600), 20)
  .option(
    '--results <file>',
    "append each seed's result to this file, one JSON line each (for docs/reliability.md)",
  )
  .option(
    '--keep',
    "keep a run's schema and files (always kept when a run could not finish)",
    false,
  )
  .option(
    '--shrink',
    'when a seed fails, re-run it with fewer steps (halving, then bisecting) and print the fewest that still fail',
    false,
  )
  .option('--shrink-runs <k>', 'at most this many re-runs per failing seed', int(1, 100), 10)
  .option(
    '--plan',
    "print what the seeds' schedules would inject, by kind, without running anything",
    false,
  )
  .option(
    '--weight <kind=n>',
    'weight a step kind otherwise for this run (repeatable), e.g. pg-restart=30',
    weight,
  )
  .parse()
  .opts<{
    seed?: number;
    steps: number;
    seeds?: number;
    maxMinutes: number;
    keep: boolean;
    results?: string;
    shrink: boolean;
    shrinkRuns: number;
    plan: boolean;
    weight?: WeightOverrides;
  }>();
const weights = opts.weight ?? {};
const replay = (seed: number, steps: number) => reproduce(seed, steps, weights);

const failedRun = (r: RunResult) => r.violations.length + r.errors.length > 0;

/**
 * The same failure, as far as a re-run can tell: one of the invariants broken before, or an error
 * when there were only errors.
 */
function sameFailure(first: RunResult, again: RunResult): boolean {
  const broken = new Set(first.violations.map((v) => v.invariant));
  if (broken.size === 0) return again.errors.length > 0;
  return again.violations.some((v) => broken.has(v.invariant));
}

/**
 * Re-runs a failing seed with fewer steps (chaos/shrink.ts); the fewest steps seen failing the same
 * way.
 */
async function shrink(first: RunResult): Promise<number> {
  const found = await fewestFailingSteps(
    first.steps,
    async (steps) => {
      console.log(`\n[shrink] seed ${first.seed}: trying ${steps} step(s)`);
      const r = await runBounded(first.seed, steps, false);
      report(r);
      const fails = failedRun(r) && sameFailure(first, r);
      console.log(
        `[shrink] seed ${first.seed} with ${steps} step(s): ${fails ? 'still fails' : failedRun(r) ? 'fails otherwise (counted as a pass)' : 'passes'}`,
      );
      return fails;
    },
    opts.shrinkRuns,
  );
  const narrowed = found.fewest - found.passed <= 1;
  console.log(
    `[shrink] seed ${first.seed}: tried ${found.tried.join(', ')} step(s); fewest seen failing ${found.fewest}` +
      `${narrowed ? (found.passed >= 0 ? ` (${found.passed} passed)` : '') : ` (not narrowed further within ${opts.shrinkRuns} re-runs)`}. Reproduce: ${replay(first.seed, found.fewest)}`,
  );
  return found.fewest;
}

/**
 * The kinds the seeds' schedules would inject (steps that find nothing to act on yet count too: an
 * upper bound for those).
 */
function plan(seeds: number[]): void {
  const totals: Record<string, number> = {};
  for (const seed of seeds) {
    const master = new Prng(seed);
    // the workload's stream, then the schedule's (chaos/run.ts forks them in this order)
    master.int(1, 2 ** 31 - 1);
    for (const [kind, n] of Object.entries(
      planned(drawSchedule(new Prng(master.int(1, 2 ** 31 - 1)), opts.steps, weights)),
    ))
      totals[kind] = (totals[kind] ?? 0) + n;
  }
  console.log(
    `${seeds.length} seed(s) of ${opts.steps} steps${Object.keys(weights).length ? ` (weights ${JSON.stringify(weights)})` : ''} would inject:`,
  );
  for (const [kind, n] of Object.entries(totals).sort()) console.log(`  ${kind.padEnd(44)} ${n}`);
}

/**
 * One seed, bounded by --max-minutes; the run bounds its own waits by it, this is the backstop if
 * something hangs outside them.
 */
async function runBounded(seed: number, steps: number, keep: boolean): Promise<RunResult> {
  const maxMs = opts.maxMinutes * 60_000;
  const backstop = setTimeout(
    () => {
      console.log(
        `[chaos] seed ${seed} did not stop by itself within ${opts.maxMinutes + 5} minutes: stopping its processes. Reproduce: ${replay(seed, steps)}`,
      );
      void stopEverything().then(() => process.exit(2));
    },
    maxMs + 5 * 60_000,
  );
  try {
    return await runSeed({ seed, steps, maxMs, keep, weights, say: (l) => console.log(l) });
  } finally {
    clearTimeout(backstop);
  }
}

async function main(): Promise<void> {
  const first = opts.seed ?? 1;
  const seeds = Array.from({ length: opts.seeds ?? 1 }, (_, i) => first + i);
  if (opts.plan) return plan(seeds);
  const results: RunResult[] = [];
  const shrunk = new Map<number, number>();
  for (const seed of seeds) {
    const result = await runBounded(seed, opts.steps, opts.keep);
    results.push(result);
    report(result);
    if (opts.results) appendFileSync(opts.results, JSON.stringify(result) + '\n');
    if (opts.shrink && failedRun(result)) shrunk.set(seed, await shrink(result));
  }
  const totals: Record<string, number> = {};
  for (const r of results)
    for (const [k, n] of Object.entries(r.faults)) totals[k] = (totals[k] ?? 0) + n;
  const failed = results.filter(failedRun);
  console.log(
    `\n${results.length} seed(s), ${failed.length} failed; ${(results.reduce((a, r) => a + r.ms, 0) / results.length / 1000).toFixed(1)} s per seed on average`,
  );
  console.log(
    `injected: ${Object.entries(totals)
      .sort()
      .map(([k, n]) => `${k}=${n}`)
      .join(' ')}`,
  );
  for (const r of failed) {
    const fewest = shrunk.get(r.seed);
    console.log(
      `FAILED seed ${r.seed}: reproduce with \`${replay(r.seed, r.steps)}\`${fewest !== undefined && fewest < r.steps ? `, or with fewer steps \`${replay(r.seed, fewest)}\`` : ''}`,
    );
  }
  process.exitCode = failed.length ? 1 : 0;
}

/** The run's processes (their schemas kept for a look), then the chaos cluster. */
async function stopEverything(): Promise<void> {
  await Promise.allSettled([...runningStacks].map((s) => s.stop({ keep: true })));
  await releaseChaosPostgres().catch(() => undefined);
}

function report(r: RunResult): void {
  const ok = r.violations.length + r.errors.length === 0;
  console.log(
    `\n== seed ${r.seed}: ${ok ? 'every invariant holds' : 'FAILED'} (${(r.ms / 1000).toFixed(1)} s, ${r.steps} steps)`,
  );
  for (const v of r.violations) console.log(`   VIOLATION ${v.invariant}: ${v.detail}`);
  for (const e of r.errors) console.log(`   ERROR ${e.slice(0, 2_000)}`);
  console.log(
    `   injected: ${Object.entries(r.faults)
      .sort()
      .map(([k, n]) => `${k}=${n}`)
      .join(' ')}`,
  );
  if (!ok) console.log(`   reproduce: ${replay(r.seed, r.steps)}`);
}

// Interrupted: stop the run's own processes (kept for a look), then leave.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`[chaos] ${signal}: stopping the run's processes`);
    void stopEverything().then(() => process.exit(130));
  });
}

// Whatever ends the run early stops its processes first: a run leaves no server behind.
const fail = (err: Error): void => {
  console.error(`[chaos] ${err.stack ?? err.message}`);
  void stopEverything().then(() => process.exit(1));
};
process.once('uncaughtException', fail);
main().then(() => releaseChaosPostgres(), fail);
