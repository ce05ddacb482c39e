// npm run chaos -- --seed 42 --steps 300        one seeded schedule over the real processes
// npm run chaos -- --seeds 200 [--seed 1]       seeds 1..200 (or from --seed), one after another
// A failing seed prints what broke and the command that replays its schedule; exit code 1.
import { appendFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { releaseChaosPostgres } from './postgres';
import { reproduce, runningStacks, runSeed, type RunResult } from './run';

process.env.APP_ENV = 'test'; // the run's processes and database are test ones (config/env.ts)

const int = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`a whole number from ${min} to ${max}`);
  return n;
};

const opts = new Command()
  .name('npm run chaos --')
  .description('Seeded faults, interleavings and operators over the real API, worker, dispatcher, Temporal and gateway; the money invariants checked after each run.')
  .option('--seed <n>', 'the seed (with --seeds: the first one)', int(1, 2 ** 31 - 1))
  .option('--steps <n>', 'chaos steps per seed', int(0, 10_000), 40)
  .option('--seeds <k>', 'run k seeds one after another', int(1, 100_000))
  .option('--max-minutes <m>', 'wall-clock bound of each seed', int(1, 600), 20)
  .option('--results <file>', 'append each seed\'s result to this file, one JSON line each (for docs/reliability.md)')
  .option('--keep', "keep a run's schema and files (always kept when a run could not finish)", false)
  .parse()
  .opts<{ seed?: number; steps: number; seeds?: number; maxMinutes: number; keep: boolean; results?: string }>();

async function main(): Promise<void> {
  const first = opts.seed ?? 1;
  const seeds = Array.from({ length: opts.seeds ?? 1 }, (_, i) => first + i);
  const results: RunResult[] = [];
  for (const seed of seeds) {
    const maxMs = opts.maxMinutes * 60_000;
    // The run bounds its own waits by maxMs; this is the backstop if something hangs outside them.
    const backstop = setTimeout(() => {
      console.log(`[chaos] seed ${seed} did not stop by itself within ${opts.maxMinutes + 5} minutes: stopping its processes. Reproduce: ${reproduce(seed, opts.steps)}`);
      void stopEverything().then(() => process.exit(2));
    }, maxMs + 5 * 60_000);
    const result = await runSeed({ seed, steps: opts.steps, maxMs, keep: opts.keep, say: (l) => console.log(l) });
    clearTimeout(backstop);
    results.push(result);
    report(result);
    if (opts.results) appendFileSync(opts.results, JSON.stringify(result) + '\n');
  }
  const totals: Record<string, number> = {};
  for (const r of results) for (const [k, n] of Object.entries(r.faults)) totals[k] = (totals[k] ?? 0) + n;
  const failed = results.filter((r) => r.violations.length + r.errors.length > 0);
  console.log(`\n${results.length} seed(s), ${failed.length} failed; ${(results.reduce((a, r) => a + r.ms, 0) / results.length / 1000).toFixed(1)} s per seed on average`);
  console.log(`injected: ${Object.entries(totals).sort().map(([k, n]) => `${k}=${n}`).join(' ')}`);
  for (const r of failed) console.log(`FAILED seed ${r.seed}: reproduce with \`${reproduce(r.seed, r.steps)}\``);
  process.exitCode = failed.length ? 1 : 0;
}

/** The run's processes (their schemas kept for a look), then the chaos cluster. */
async function stopEverything(): Promise<void> {
  await Promise.allSettled([...runningStacks].map((s) => s.stop({ keep: true })));
  await releaseChaosPostgres().catch(() => undefined);
}

function report(r: RunResult): void {
  const ok = r.violations.length + r.errors.length === 0;
  console.log(`\n== seed ${r.seed}: ${ok ? 'every invariant holds' : 'FAILED'} (${(r.ms / 1000).toFixed(1)} s, ${r.steps} steps)`);
  for (const v of r.violations) console.log(`   VIOLATION ${v.invariant}: ${v.detail}`);
  for (const e of r.errors) console.log(`   ERROR ${e.slice(0, 2_000)}`);
  console.log(`   injected: ${Object.entries(r.faults).sort().map(([k, n]) => `${k}=${n}`).join(' ')}`);
  if (!ok) console.log(`   reproduce: ${reproduce(r.seed, r.steps)}`);
}

// Interrupted: stop the run's own processes (kept for a look), then leave.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`[chaos] ${signal}: stopping the run's processes`);
    void stopEverything().then(() => process.exit(130));
  });
}

main().then(() => releaseChaosPostgres(), async (err: Error) => {
  console.error(`[chaos] ${err.stack ?? err.message}`);
  await releaseChaosPostgres().catch(() => undefined);
  process.exit(1);
});
