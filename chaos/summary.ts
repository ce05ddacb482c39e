// npm run chaos:summary -- docs/chaos-runs/03d31b2/*.jsonl [--first 1 --last 200]
//   what a long run's --results files add up to, as the Markdown docs/reliability.md shows:
//   seeds passed and failed, seeds of the range not run yet, time per seed, faults by kind.
// Reads only; a line that is not a result is an error, never skipped.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { RunResult } from './run';

/** The goal of issue 18's "done when": each fault kind of item 3 injected this often in all. */
const FAULT_GOAL = 50;

/**
 * Item 3's fault kinds are the counters of processes killed or restarted and of gateway faults
 * met; `gateway:rates-changed` counts the steps that set the fault rates, not a fault.
 */
export function isFaultKind(kind: string): boolean {
  if (kind === 'gateway:rates-changed') return false;
  return /^(kill|postgres|temporal|gateway):/.test(kind);
}

export function readResults(files: string[]): RunResult[] {
  const results: RunResult[] = [];
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      const r = JSON.parse(line) as RunResult;
      if (!Number.isInteger(r.seed) || typeof r.faults !== 'object')
        throw new Error(`${file}:${i + 1}: not a chaos result line`);
      results.push(r);
    });
  }
  return results.sort((a, b) => a.seed - b.seed);
}

export function totalsByKind(results: RunResult[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const r of results)
    for (const [kind, n] of Object.entries(r.faults)) totals.set(kind, (totals.get(kind) ?? 0) + n);
  return new Map([...totals].sort(([a], [b]) => a.localeCompare(b)));
}

const passed = (r: RunResult) => r.violations.length === 0 && r.errors.length === 0;

function secondsLine(results: RunResult[]): string {
  const s = results.map((r) => r.ms / 1000).sort((a, b) => a - b);
  if (s.length === 0) return 'no seed finished';
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  const f = (x: number) => x.toFixed(1);
  return `time per seed ${f(mean)} s on average (median ${f(median)}, ${f(s[0])} to ${f(s.at(-1)!)})`;
}

function missingSeeds(results: RunResult[], first: number, last: number): number[] {
  const ran = new Set(results.map((r) => r.seed));
  const missing: number[] = [];
  for (let seed = first; seed <= last; seed++) if (!ran.has(seed)) missing.push(seed);
  return missing;
}

export function summarise(results: RunResult[], first: number, last: number): string {
  const failed = results.filter((r) => !passed(r));
  const missing = missingSeeds(results, first, last);
  const totals = totalsByKind(results);
  const faults = [...totals].filter(([kind]) => isFaultKind(kind));
  const fewest = faults.reduce((a, b) => (b[1] < a[1] ? b : a), faults[0] ?? ['none', 0]);
  const lines = [
    `${results.length} seed(s) finished of ${first}-${last}: ${results.length - failed.length} ` +
      `held every invariant, ${failed.length} did not` +
      (failed.length ? ` (${failed.map((r) => r.seed).join(', ')})` : '') +
      `; ${missing.length} not run` +
      (missing.length ? ` (${compactRanges(missing)})` : '') +
      '.',
    `${secondsLine(results)}.`,
    `Fewest of item 3's ${faults.length} fault kinds: ${fewest[0]} ${fewest[1]} ` +
      `(goal ${FAULT_GOAL} each: ${faults.every(([, n]) => n >= FAULT_GOAL) ? 'met' : 'NOT met'}).`,
    '',
    '| kind | item 3 fault | injected |',
    '| --- | --- | --- |',
    ...[...totals].map(([kind, n]) => `| ${kind} | ${isFaultKind(kind) ? 'yes' : ''} | ${n} |`),
  ];
  return lines.join('\n');
}

/** 1,2,3,7,9,10 → "1-3, 7, 9-10". */
export function compactRanges(seeds: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < seeds.length; i++) {
    let j = i;
    while (j + 1 < seeds.length && seeds[j + 1] === seeds[j] + 1) j++;
    parts.push(i === j ? `${seeds[i]}` : `${seeds[i]}-${seeds[j]}`);
    i = j;
  }
  return parts.join(', ');
}

const seedNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number from 1');
  return n;
};

if (require.main === module) {
  const program = new Command()
    .name('npm run chaos:summary --')
    .description('Adds up chaos --results files: seeds passed, time per seed, faults by kind.')
    .argument('<files...>', 'JSON-lines files written by npm run chaos -- --results')
    .option('--first <n>', 'the first seed of the run', seedNumber, 1)
    .option('--last <n>', 'the last seed of the run', seedNumber, 200)
    .parse();
  const { first, last } = program.opts<{ first: number; last: number }>();
  if (last < first) program.error('--last must not be below --first');
  console.log(summarise(readResults(program.args), first, last));
}
