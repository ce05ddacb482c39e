// The long run's summary (chaos/summary.ts): what docs/reliability.md's table is computed from.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../../chaos/run';
import {
  compactRanges,
  isFaultKind,
  readResults,
  summarise,
  totalsByKind,
} from '../../chaos/summary';

const result = (seed: number, faults: Record<string, number>, extra: Partial<RunResult> = {}) => ({
  seed,
  steps: 40,
  ms: seed * 1000,
  faults,
  violations: [],
  errors: [],
  ...extra,
});

function writeLines(rows: object[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'chaos-summary-')), 'results.jsonl');
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

describe('chaos summary', () => {
  it('adds each kind over every seed, across files, in seed order', () => {
    const a = writeLines([
      result(3, { 'kill:api': 2 }),
      result(1, { 'kill:api': 1, 'operator:review': 4 }),
    ]);
    const b = writeLines([result(2, { 'kill:api': 5 })]);
    const results = readResults([a, b]);
    expect(results.map((r) => r.seed)).toEqual([1, 2, 3]);
    expect([...totalsByKind(results)]).toEqual([
      ['kill:api', 8],
      ['operator:review', 4],
    ]);
  });

  it('counts processes and gateway faults as item 3, but not the rate-table steps or operators', () => {
    expect(
      [
        'kill:worker',
        'postgres:immediate-restart',
        'temporal:restart',
        'gateway:second-channel',
      ].every(isFaultKind),
    ).toBe(true);
    expect(
      [
        'gateway:rates-changed',
        'operator:wrong-review',
        'workload:withdrawal',
        'api:503-database-unavailable',
      ].some(isFaultKind),
    ).toBe(false);
  });

  it('names failed and missing seeds, and says when a fault kind is under the goal', () => {
    const results = [
      result(1, { 'kill:api': 60 }),
      result(2, { 'kill:api': 1, 'temporal:restart': 49 }, { errors: ['workload: fetch failed'] }),
      result(5, {}),
    ];
    const text = summarise(results, 1, 6);
    expect(text).toContain(
      '3 seed(s) finished of 1-6: 2 held every invariant, 1 did not (2); 3 not run (3-4, 6).',
    );
    expect(text).toContain(
      "Fewest of item 3's 2 fault kinds: temporal:restart 49 (goal 50 each: NOT met).",
    );
    expect(text).toContain('| kill:api | yes | 61 |');
    expect(text).toContain('time per seed 2.7 s on average (median 2.0, 1.0 to 5.0)');
  });

  it('says the goal is met when every fault kind reaches it', () => {
    const text = summarise([result(1, { 'kill:api': 50, 'operator:review': 1 })], 1, 1);
    expect(text).toContain('goal 50 each: met');
    expect(text).toContain('0 not run.');
  });

  it('refuses a line that is not a result', () => {
    expect(() => readResults([writeLines([{ hello: 1 }])])).toThrow(/:1: not a chaos result line/);
  });

  it('writes runs of seeds as ranges', () => {
    expect(compactRanges([1, 2, 3, 7, 9, 10])).toBe('1-3, 7, 9-10');
  });
});
