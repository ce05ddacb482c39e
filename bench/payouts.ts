// The payout run under the gateway's faults (issue #6): one installment's interest paid to N
// investors, each its own Payout workflow, while the simulator fails some definitively, answers
// ambiguously for others and leaves some stuck for good. Needs the stack
// (`npm start -- --no-demo`).
//   npm run bench:payouts -- [--investors 10000] [--definitive 0.05] [--ambiguous 0.05]
//     [--stuck 0.01]
// Prints progress, then a final JSON line: payouts/s against the bare Temporal ceiling measured in
// the same run, outcomes, reviews resolved from the gateway's truth, and duplicates (must be 0).
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { Command } from 'commander';
import { databaseDecider, resolveReviewsFromSimulatorTruth } from '../cli/auto-resolve';
import { Ledger } from '../ledger';
import { LedgerBatcher } from '../ledger/batcher';
import { createPool, inTransaction } from '../db/pool';
import { MoneyDecimal } from '../ledger/money';
import { createLoan } from '../loans/store';
import type { PayoutRunInput, PayoutRunResult } from '../workflows/contracts/payout-run';
import { temporalCeiling } from './ceiling/measure';
import { workflowIds } from '../ids/workflow-ids';
import { workflowIdPrefixes } from '../ids/workflow-ids';
import { scheduledPayoutIdPrefix } from '../ids/derived';
import { startPayoutRunAsJob } from '../cli/payout-run-job';
import { putVerifiedAccountOnFile } from '../test/helpers/bank-accounts';
import {
  ceilingWorkflowsOption,
  databaseUrlOption,
  gatewayUrlOption,
  temporalAddressOption,
} from './options';

// A benchmark of the dev stack: its reviews are decided from the simulator's record, which only
// development and test allow (cli/auto-resolve.ts).
process.env.APP_ENV ??= 'development';

const opts = new Command()
  .description(
    'Pay one installment to many investors through the faulty gateway; report throughput and exactness.',
  )
  .option('--investors <n>', 'investors to pay', '10000')
  .option('--definitive <rate>', 'share of payouts the gateway refuses with a listed code', '0.05')
  .option(
    '--ambiguous <rate>',
    'share answered ambiguously (lie-failed, timeout, 5xx after executing)',
    '0.05',
  )
  .option(
    '--stuck <rate>',
    'share stuck in PROCESSING for good (they end in manual review)',
    '0.01',
  )
  .option('--query-attempts <n>', 'queries of an unknown outcome before manual review', '3')
  .addOption(databaseUrlOption('the bench seeds rows directly'))
  .addOption(gatewayUrlOption())
  .addOption(temporalAddressOption())
  .addOption(ceilingWorkflowsOption())
  .parse()
  .opts<{
    investors: string;
    definitive: string;
    ambiguous: string;
    stuck: string;
    queryAttempts: string;
    databaseUrl: string;
    gatewayUrl: string;
    temporalAddress: string;
    ceilingWorkflows: string;
  }>();

const investors = Number(opts.investors);
const run = `pb${Date.now().toString(36)}`;
const loanId = `${run}-loan`;
const SHARE_MINOR = 1_000n; // 10.00 of interest each
const ACCOUNT = { bankCode: 'ICBC', accountNo: '6222020200112233', accountName: 'Bench Investor' };

async function setFaults(rates: Record<string, number>): Promise<void> {
  const res = await fetch(`${opts.gatewayUrl}/_sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rates }),
  });
  if (!res.ok)
    throw new Error(`setting the simulator's faults: HTTP ${res.status} ${await res.text()}`);
}

/**
 * Setup straight into Postgres: a loan whose first installment is distributed, as the Repayment
 * workflow leaves it (the shares recorded, the money in the investors' balances). What is
 * measured is the payout run, not the thousands of subscriptions before it.
 */
async function setUpDistributedInstallment(db: Pool): Promise<void> {
  const ids = Array.from({ length: investors }, (_, i) => `${run}-i${String(i).padStart(6, '0')}`);
  await db.query(
    `INSERT INTO parties (id, kind, name) SELECT id, 'investor', id FROM unnest($1::text[]) AS id`,
    [ids],
  );
  await db.query(`INSERT INTO parties (id, kind, name) VALUES ($1, 'borrower', 'Bench borrower')`, [
    `${run}-borrower`,
  ]);
  await db.query(
    `SELECT ledger_create_account('investor:' || id || ':available', 'CNY', false, 1::smallint, '{}') FROM unnest($1::text[]) AS id`,
    [ids],
  );
  await inTransaction(db, async (tx) => {
    await createLoan(tx, {
      id: loanId,
      borrowerId: `${run}-borrower`,
      currency: 'CNY',
      principalMinor: BigInt(investors) * 100_000n,
      annualRate: new MoneyDecimal('0.12'),
      termMonths: 12,
      repaymentMethod: 'interest_then_principal',
      subscriptionDeadline: new Date(Date.now() + 60_000),
      feeRate: new MoneyDecimal(0),
    });
    // no Loan workflow: the installment is set up by hand
    await tx.query('DELETE FROM outbox WHERE workflow_id = $1', [workflowIds.loan(loanId)]);
    await tx.query(
      `UPDATE loans SET status = 'REPAYING', remaining_minor = 0, funded_at = now() WHERE id = $1`,
      [loanId],
    );
    await tx.query(
      `UPDATE loan_installments SET status = 'DISTRIBUTED' WHERE loan_id = $1 AND n = 1`,
      [loanId],
    );
    await tx.query(
      `INSERT INTO repayment_shares (loan_id, n, investor_id, holding_minor, interest_minor, principal_minor)
       SELECT $1, 1, id, 100000, $3, 0 FROM unnest($2::text[]) AS id`,
      [loanId, ids, SHARE_MINOR.toString()],
    );
  });
  const batcher = new LedgerBatcher(db, { maxInFlight: 4 });
  await Promise.all(
    ids.map((id) =>
      batcher.transfer({
        idempotencyKey: `${run}:share:${id}`,
        from: 'gateway:default:clearing',
        to: `investor:${id}:available`,
        amount: SHARE_MINOR,
        currency: 'CNY',
      }),
    ),
  );
  // Scheduled payouts go only to a verified account on file: one each, verified as a successful
  // penny test would leave it (the bench measures the run, not penny tests).
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ids.length) await putVerifiedAccountOnFile(db, ids[next++], ACCOUNT);
    }),
  );
  console.log(`[payouts] setup: ${investors} shares of 10.00 distributed, accounts verified`);
}

/** Manual reviews, decided from the gateway's truth through the operators' update. */
async function resolveReviews(db: Pool, client: Client, manualReview: number) {
  let resolved = { paid: 0, notPaid: 0, skipped: 0 };
  for (let pass = 0; pass < 60 && resolved.paid + resolved.notPaid < manualReview; pass++) {
    const r = await resolveReviewsFromSimulatorTruth(
      client,
      opts.gatewayUrl,
      databaseDecider(db, client, 'operator:bench-auto'),
      `WorkflowId STARTS_WITH '${workflowIdPrefixes.scheduledPayouts(loanId)}'`,
    );
    resolved = {
      paid: resolved.paid + r.paid,
      notPaid: resolved.notPaid + r.notPaid,
      skipped: resolved.skipped + r.skipped,
    };
    if (resolved.paid + resolved.notPaid < manualReview)
      await new Promise((r2) => setTimeout(r2, 2_000)); // visibility lags
  }
  return resolved;
}

/** Exactness: every payout the gateway executed is posted once, and nothing else. */
async function checkExactness(db: Pool) {
  const truthRes = await fetch(`${opts.gatewayUrl}/_sim/truth`);
  const truth = (
    (await truthRes.json()) as { orders: { orderNo: string; kind: string; status: string }[] }
  ).orders;
  // This loan's orders: the numbers stored with its payouts (a long id's is po-<digest>), and any
  // other the gateway holds under the loan's payout-id prefix.
  const { rows: stored } = await db.query<{ order_no: string }>(
    'SELECT order_no FROM payouts WHERE loan_id = $1',
    [loanId],
  );
  const ours = new Set(stored.map((r) => r.order_no));
  const prefix = scheduledPayoutIdPrefix(loanId);
  const executed = new Set(
    truth
      .filter(
        (o) =>
          o.kind === 'PAYOUT' &&
          o.status === 'SUCCESS' &&
          (ours.has(o.orderNo) || o.orderNo.startsWith(prefix)),
      )
      .map((o) => o.orderNo),
  );
  const { rows: posted } = await db.query<{ order_no: string; n: number }>(
    `SELECT p.order_no, count(*)::int AS n FROM payouts p JOIN ledger_transactions t ON t.idempotency_key = 'payout:' || p.id || ':post'
     WHERE p.loan_id = $1 GROUP BY p.order_no`,
    [loanId],
  );
  const postedSet = new Set(posted.map((r) => r.order_no));
  const duplicates = posted.filter((r) => r.n > 1).length;
  const executedNotPosted = [...executed].filter((o) => !postedSet.has(o)).length;
  const postedNotExecuted = [...postedSet].filter((o) => !executed.has(o)).length;
  return { duplicates, executedNotPosted, postedNotExecuted };
}

/** Payouts by status, for progress and the final figures. */
async function countPayouts(db: Pool): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM payouts WHERE loan_id = $1 GROUP BY status',
    [loanId],
  );
  return rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: r.n }), {});
}

/** The measured part: the payout run started as the operators' job starts it, to its end. */
async function runPayouts(db: Pool, client: Client) {
  const input: PayoutRunInput = {
    loanId,
    installment: 1,
    queryPolicy: {
      attempts: Number(opts.queryAttempts),
      initialIntervalMs: 1_000,
      maxIntervalMs: 4_000,
    },
  };
  const started = Date.now();
  const handle = await startPayoutRunAsJob(db, client, {
    workflowId: workflowIds.payoutRun(loanId, 1),
    input,
    job: 'bench',
  });
  const progress = setInterval(() => {
    void countPayouts(db).then((c) => {
      const s = (Date.now() - started) / 1000;
      const settled = (c.SUCCEEDED ?? 0) + (c.FAILED ?? 0) + (c.MANUAL_REVIEW ?? 0);
      console.log(
        `[payouts] ${s.toFixed(0)}s: ${JSON.stringify(c)}, ${(settled / s).toFixed(1)} settled/s`,
      );
    });
  }, 5_000);
  const result: PayoutRunResult = await handle.result();
  const runSeconds = (Date.now() - started) / 1000;
  clearInterval(progress);
  return { result, runSeconds };
}

async function main(): Promise<void> {
  const db = createPool({ connectionString: opts.databaseUrl, max: 8 });
  console.log(
    `[payouts] run ${run}: ${investors} investors, faults definitive ${opts.definitive}, ambiguous ${opts.ambiguous}, stuck ${opts.stuck}`,
  );

  await setUpDistributedInstallment(db);

  const ambiguous = Number(opts.ambiguous) / 3;
  await setFaults({
    'fail:INVALID_ACCOUNT': Number(opts.definitive),
    'lie-failed': ambiguous,
    'timeout-then-execute': ambiguous,
    'error-5xx-after-execute': ambiguous,
    'processing-stuck': Number(opts.stuck),
  });

  const connection = await Connection.connect({ address: opts.temporalAddress });
  const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
  const { result, runSeconds } = await runPayouts(db, client);
  await setFaults({});
  console.log(`[payouts] run done in ${runSeconds.toFixed(1)} s: ${JSON.stringify(result)}`);

  const resolved = await resolveReviews(db, client, result.manualReview);
  await until(async () => ((await countPayouts(db)).MANUAL_REVIEW ?? 0) === 0, 180_000);

  const { duplicates, executedNotPosted, postedNotExecuted } = await checkExactness(db);
  const trial = await new Ledger(db).trialBalance();
  const final = await countPayouts(db);

  console.log('[payouts] measuring the bare Temporal ceiling in this run');
  const ceiling = await temporalCeiling(
    opts.temporalAddress,
    process.env.TEMPORAL_NAMESPACE ?? 'default',
    Number(opts.ceilingWorkflows),
  );
  const payoutsPerS = result.payouts / runSeconds;
  console.log(
    JSON.stringify({
      bench: 'payouts',
      run,
      investors,
      faults: {
        definitive: Number(opts.definitive),
        ambiguous: Number(opts.ambiguous),
        stuck: Number(opts.stuck),
      },
      run_seconds: Math.round(runSeconds * 10) / 10,
      payouts: result.payouts,
      payouts_settled_per_s: Math.round(payoutsPerS * 10) / 10,
      ratio_to_temporal_ceiling: Math.round((payoutsPerS / ceiling.completed_per_s) * 100) / 100,
      outcomes_at_run_end: {
        succeeded: result.succeeded,
        failed: result.failed,
        manual_review: result.manualReview,
      },
      reviews_resolved_from_truth: resolved,
      outcomes_final: final,
      duplicates,
      executed_not_posted: executedNotPosted,
      posted_not_executed: postedNotExecuted,
      trial_balance_zero: trial.balanced,
      ceilings: { temporal_empty_workflow_one_activity_completed_per_s: ceiling.completed_per_s },
    }),
  );
  await connection.close();
  await db.end();
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the reviews to settle');
    await new Promise((r) => setTimeout(r, 500));
  }
}

main().catch((err: Error) => {
  console.error(`[payouts] error: ${err.stack ?? err.message}`);
  process.exit(1);
});
