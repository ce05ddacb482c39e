// Issue 17, items 5 and 3: the workflow lint fence is an allow-list, and api/ may not post to the
// ledger. Workflow code imports values only from @temporalio/workflow, @temporalio/common, other
// workflow files and ids/workflow-ids; types from anywhere. A probe file in workflows/ with each
// kind of import is linted by the repo's own config.
import { execFile } from 'node:child_process';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');

/** Lints a probe file written into `dir` with the repo's config; the lines a fence rule flagged. */
async function fencedLines(dir: string, lines: string[]): Promise<number[]> {
  const probe = join(ROOT, dir, 'zz-fence-probe.ts');
  writeFileSync(probe, [...lines, ''].join('\n'));
  try {
    const result = await promisify(execFile)(
      join(ROOT, 'node_modules', '.bin', 'eslint'),
      ['--format', 'json', probe],
      { cwd: ROOT },
    ).catch((err: { stdout: string }) => err);
    const [report] = JSON.parse(result.stdout) as {
      messages: { ruleId: string; line: number }[];
    }[];
    return report.messages
      .filter(
        (m) =>
          m.ruleId === '@typescript-eslint/no-restricted-imports' ||
          m.ruleId === 'no-restricted-syntax',
      )
      .map((m) => m.line);
  } finally {
    unlinkSync(probe);
  }
}

it('refuses pg, Node, payments/, loans/, reconciliation/, config/ and ids other than workflow-ids; allows Temporal, ./ and type imports', async () => {
  expect(
    await fencedLines('workflows', [
      "import { Pool } from 'pg';",
      "import { readFileSync } from 'node:fs';",
      "import { createPayout } from '../payments/payouts';",
      "import { getLoan } from '../loans/store';",
      "import { matchRun } from '../reconciliation/match';",
      "import { loadConfig } from '../config/env';",
      "import { scheduledPayoutIdPrefix } from '../ids/derived';",
      "import { proxyActivities } from '@temporalio/workflow';",
      "import { ApplicationFailure } from '@temporalio/common';",
      "import { TASK_QUEUE } from './contracts/common';",
      "import { workflowIds } from '../ids/workflow-ids';",
      "import type { Queryable } from '../ledger/types';",
      "import type { Activities } from '../activities';",
      'export const used = [Pool, readFileSync, createPayout, getLoan, matchRun, loadConfig, scheduledPayoutIdPrefix, proxyActivities, ApplicationFailure, TASK_QUEUE, workflowIds];',
      'export type Used = [Queryable, Activities];',
    ]),
  ).toEqual([1, 2, 3, 4, 5, 6, 7]);
}, 120_000);

it('keeps api/ from posting to the ledger: no import of ledger/transactions, no Ledger posting call; reads pass', async () => {
  expect(
    await fencedLines('api', [
      "import { post } from '../ledger/transactions';",
      "import { Ledger } from '../ledger';",
      "import type { Queryable } from '../ledger/types';",
      'export async function f(tx: Queryable) {',
      '  const ledger = new Ledger(tx);',
      "  await ledger.transfer({ idempotencyKey: 'k', from: 'a', to: 'b', amount: 1n, currency: 'CNY' });",
      "  await new Ledger(tx).hold({ idempotencyKey: 'k', from: 'a', to: 'b', amount: 1n, currency: 'CNY' });",
      "  await ledger.balance('x');",
      '  return post;',
      '}',
    ]),
  ).toEqual([1, 6, 7]);
}, 120_000);
