// The subscription rush (issue: loans and subscriptions): N funded investors rush one loan through
// the HTTP API with C concurrent clients. Needs the stack running (`npm start -- --no-demo`).
//   npm run bench:rush -- [--investors 10000] [--principal 10000000.00] [--clients 200] [--seed 7]
// Prints progress, then a final JSON line with the figures and, measured in the same run, the bare
// ceilings: Temporal completions/s (empty workflow + one no-op activity) and Postgres hot-row
// UPDATEs/s.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Command } from 'commander';
import { Ledger } from '../ledger';
import type { Pool } from 'pg';
import { createPool } from '../db/pool';
import { formatAmount, parseAmount } from '../ledger/money';
import { LedgerBatcher } from '../ledger/batcher';
import { postgresHotRowCeiling, temporalCeiling } from './ceiling/measure';
import { createJsonClient, percentile } from './http';
import { generateApiKey } from '../api/auth';
import {
  apiUrlOption,
  ceilingWorkflowsOption,
  databaseUrlOption,
  temporalAddressOption,
} from './options';

const opts = new Command()
  .description(
    'Rush one loan with many investors through the API; report throughput, latency and exactness.',
  )
  .option('--investors <n>', 'investors who rush', '10000')
  .option('--principal <amount>', 'the loan', '10000000.00')
  .option('--min <amount>', 'smallest subscription', '100.00')
  .option('--max <amount>', 'largest subscription', '5000.00')
  .option(
    '--cap <amount>',
    "the per-investor-per-loan limit set for the rush ('none' lifts it): checked inside every reservation",
    '5000.00',
  )
  .option('--clients <n>', 'concurrent HTTP clients', '200')
  .option('--seed <n>', 'random seed', '7')
  .addOption(apiUrlOption())
  .addOption(databaseUrlOption("the API's; the bench seeds rows and measures a table of its own"))
  .addOption(temporalAddressOption())
  .addOption(ceilingWorkflowsOption())
  .parse()
  .opts<{
    investors: string;
    principal: string;
    min: string;
    max: string;
    cap: string;
    clients: string;
    seed: string;
    apiUrl: string;
    databaseUrl: string;
    temporalAddress: string;
    ceilingWorkflows: string;
  }>();

const investors = Number(opts.investors);
const clients = Number(opts.clients);
const principalMinor = parseAmount(opts.principal, 'CNY');
const minMinor = parseAmount(opts.min, 'CNY');
const maxMinor = parseAmount(opts.max, 'CNY');
const run = `r${Date.now().toString(36)}`;
const adminKey =
  process.env.ADMIN_API_KEY ??
  readFileSync(join(__dirname, '..', '.data', 'admin-api-key'), 'utf8').trim();
const admin = { authorization: `Bearer ${adminKey}` };
const http = createJsonClient(opts.apiUrl, clients);

/** mulberry32: a seeded PRNG, so a run's amounts can be repeated. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function pool<T>(
  items: T[],
  parallel: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

async function must(
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Record<string, unknown>> {
  const res = await http.request(method, path, headers, body);
  if (res.status >= 300)
    throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Record<string, unknown>;
}

/**
 * The investors, their keys and their money straight into Postgres (the admin API's rate limit
 * would make setup the slow part, and it is not what this measures). Keys are made and hashed
 * exactly as POST /v1/api-keys does. Returns each investor's key.
 */
async function setUpInvestors(db: Pool): Promise<Map<string, string>> {
  const ids = Array.from({ length: investors }, (_, i) => `${run}-i${i}`);
  const keys = new Map<string, string>();
  const keyRows = ids.map((id) => {
    const k = generateApiKey();
    keys.set(id, k.key);
    return { id, keyId: k.keyId, secretHash: k.secretHash };
  });
  await db.query(
    `INSERT INTO parties (id, kind, name) SELECT id, 'investor', id FROM unnest($1::text[]) AS id`,
    [ids],
  );
  await db.query(
    `SELECT ledger_create_account('investor:' || id || ':available', 'CNY', false, 1::smallint, '{}') FROM unnest($1::text[]) AS id`,
    [ids],
  );
  await db.query(
    `INSERT INTO api_keys (id, secret_hash, role, party_id) SELECT k, h, 'investor', p FROM unnest($1::text[], $2::text[], $3::text[]) AS t(k, h, p)`,
    [keyRows.map((r) => r.keyId), keyRows.map((r) => r.secretHash), keyRows.map((r) => r.id)],
  );
  const batcher = new LedgerBatcher(db, { maxInFlight: 4 });
  await Promise.all(
    ids.map((id) =>
      batcher.transfer({
        idempotencyKey: `${run}:fund:${id}`,
        from: 'gateway:default:clearing',
        to: `investor:${id}:available`,
        amount: maxMinor,
        currency: 'CNY',
      }),
    ),
  );
  console.log(`[rush] setup: funded ${investors} investors with ${opts.max} each`);
  return keys;
}

/** The borrower and the loan, through the API, with the rush's per-investor cap set. */
async function openLoan(): Promise<string> {
  await must(
    'POST',
    '/v1/limits/subscription_per_investor_per_loan',
    { amount: opts.cap === 'none' ? null : opts.cap, reason: `bench ${run}` },
    admin,
  );
  await must(
    'POST',
    '/v1/borrowers',
    { id: `${run}-borrower`, name: 'Rush borrower' },
    { ...admin, 'idempotency-key': `${run}-b` },
  );
  const loan = await must(
    'POST',
    '/v1/loans',
    {
      id: `${run}-loan`,
      borrowerId: `${run}-borrower`,
      principal: opts.principal,
      annualRate: '0.08',
      termMonths: 12,
      repaymentMethod: 'equal_installment',
      subscriptionDeadline: new Date(Date.now() + 30 * 60_000).toISOString(),
    },
    { ...admin, 'idempotency-key': `${run}-loan` },
  );
  return loan.loanId as string;
}

/** What the rush saw, from the clients' side. */
interface RushFigures {
  latencies: number[];
  accepted: number;
  acceptedMinor: bigint;
  full: number;
  otherRefusals: number;
  attempts: number;
  lastAcceptedAt: number;
  rushStart: number;
  rushSeconds: number;
}

/**
 * One investor's subscription: its amount, then (told LOAN_FULL with some left) what is left,
 * once, as a real app would offer.
 */
async function subscribe(loanId: string, id: string, key: string, wanted: bigint, f: RushFigures) {
  let amount = wanted;
  for (let attempt = 0; attempt < 2; attempt++) {
    f.attempts += 1;
    const res = await http.request(
      'POST',
      `/v1/loans/${loanId}/subscriptions`,
      { authorization: `Bearer ${key}`, 'idempotency-key': `${run}-${id}-${attempt}` },
      { investorId: id, amount: formatAmount(amount, 'CNY') },
    );
    f.latencies.push(res.ms);
    if (res.status === 201) {
      f.accepted += 1;
      f.acceptedMinor += amount;
      f.lastAcceptedAt = Date.now();
      return;
    }
    const error = (res.body as { error?: { code: string; details?: { remaining?: string } } })
      .error;
    if (error?.code !== 'LOAN_FULL') {
      f.otherRefusals += 1;
      return;
    }
    f.full += 1;
    const remaining = parseAmount(error.details?.remaining ?? '0.00', 'CNY', { allowZero: true });
    if (remaining === 0n) return;
    amount = remaining < amount ? remaining : amount;
  }
}

/** The rush: every investor once, `clients` at a time, with progress each second. */
async function rushLoan(loanId: string, keys: Map<string, string>): Promise<RushFigures> {
  const ids = [...keys.keys()];
  const random = prng(Number(opts.seed));
  const span = Number(maxMinor - minMinor);
  const wanted = ids.map(() => minMinor + BigInt(Math.floor(random() * (span + 1))));
  const f: RushFigures = {
    latencies: [],
    accepted: 0,
    acceptedMinor: 0n,
    full: 0,
    otherRefusals: 0,
    attempts: 0,
    lastAcceptedAt: 0,
    rushStart: Date.now(),
    rushSeconds: 0,
  };
  const progress = setInterval(() => {
    const s = (Date.now() - f.rushStart) / 1000;
    console.log(
      `[rush] ${s.toFixed(0)}s: ${f.attempts} requests, ${f.accepted} accepted (${(f.accepted / s).toFixed(0)}/s), ${f.full} LOAN_FULL, ${f.otherRefusals} other`,
    );
  }, 1000);
  await pool(ids, clients, (id, i) => subscribe(loanId, id, keys.get(id)!, wanted[i], f));
  f.rushSeconds = (Date.now() - f.rushStart) / 1000;
  clearInterval(progress);
  f.latencies.sort((a, b) => a - b);
  console.log(
    `[rush] rush over in ${f.rushSeconds.toFixed(1)} s: ${f.accepted} accepted, ${f.full} LOAN_FULL answers`,
  );
  return f;
}

/** Until every accepted subscription's workflow has completed CONFIRMED (Temporal's own count). */
async function awaitConfirmed(db: Pool, loanId: string, rush: RushFigures): Promise<number> {
  const { accepted, rushStart } = rush;
  const connection = await Connection.connect({ address: opts.temporalAddress });
  const temporalClient = new Client({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
  });
  const confirmStart = Date.now();
  let confirmed = 0;
  for (;;) {
    const { count } = await temporalClient.workflow.count(
      `WorkflowType = 'subscriptionWorkflow' AND LoanId = '${loanId}' AND ExecutionStatus = 'Completed'`,
    );
    confirmed = count;
    const { rows: outbox } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
    console.log(
      `[rush] ${((Date.now() - rushStart) / 1000).toFixed(0)}s: ${confirmed}/${accepted} subscription workflows completed, outbox backlog ${outbox[0].n}`,
    );
    if (confirmed >= accepted || Date.now() - confirmStart > 30 * 60_000) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  await connection.close();
  return confirmed;
}

/** The loan as Postgres and the API hold it once the workflows are done. */
async function checkLoan(db: Pool, loanId: string) {
  // Every completed one must be CONFIRMED in Postgres too (a refund would be a failure of the run).
  const { rows: states } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM subscriptions WHERE loan_id = $1 AND status = 'CONFIRMED'`,
    [loanId],
  );
  const view = await must('GET', `/v1/loans/${loanId}`, undefined, admin);
  const { rows: sums } = await db.query<{ confirmed: string }>(
    `SELECT coalesce(sum(amount_minor), 0)::text AS confirmed FROM subscriptions WHERE loan_id = $1 AND status = 'CONFIRMED'`,
    [loanId],
  );
  const trial = await new Ledger(db).trialBalance();
  return {
    confirmedInPostgres: states[0].n,
    view,
    confirmedMinor: BigInt(sums[0].confirmed),
    trial,
  };
}

async function main(): Promise<void> {
  const db = createPool({ connectionString: opts.databaseUrl, max: 8 });
  console.log(
    `[rush] run ${run}: ${investors} investors, loan ${opts.principal}, ${clients} clients`,
  );
  const keys = await setUpInvestors(db);
  const loanId = await openLoan();
  const rush = await rushLoan(loanId, keys);
  const confirmed = await awaitConfirmed(db, loanId, rush);
  const secondsUntilConfirmed = (Date.now() - rush.rushStart) / 1000;
  const loan = await checkLoan(db, loanId);

  console.log('[rush] measuring the bare ceilings in this run');
  const temporal = await temporalCeiling(
    opts.temporalAddress,
    process.env.TEMPORAL_NAMESPACE ?? 'default',
    Number(opts.ceilingWorkflows),
  );
  const postgres = await postgresHotRowCeiling(opts.databaseUrl, 5);
  report(rush, loan, { confirmed, secondsUntilConfirmed, temporal, postgres });
  http.close();
  await db.end();
}

/** The final JSON line. */
function report(
  rush: RushFigures,
  loan: Awaited<ReturnType<typeof checkLoan>>,
  m: {
    confirmed: number;
    secondsUntilConfirmed: number;
    temporal: { completed_per_s: number };
    postgres: { updates_per_s: number };
  },
): void {
  const { latencies, accepted, acceptedMinor, full, otherRefusals, attempts } = rush;
  const { lastAcceptedAt, rushStart, rushSeconds } = rush;
  const { confirmed, secondsUntilConfirmed, temporal, postgres } = m;
  const { view, confirmedMinor, trial } = loan;
  const confirmedPerS = accepted / secondsUntilConfirmed;
  console.log(
    JSON.stringify({
      bench: 'rush',
      run,
      investors,
      clients,
      requests: attempts,
      accepted_subscriptions: accepted,
      // While the loan had money left (first request to last acceptance), and over the whole rush.
      seconds_to_fill: Math.round(((lastAcceptedAt - rushStart) / 1000) * 10) / 10,
      accepted_per_s_while_open: Math.round(accepted / ((lastAcceptedAt - rushStart) / 1000)),
      accepted_per_s: Math.round(accepted / rushSeconds),
      requests_per_s: Math.round(attempts / rushSeconds),
      rush_seconds: Math.round(rushSeconds * 10) / 10,
      api_latency_ms: {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: percentile(latencies, 100),
      },
      loan_full_answers: full,
      other_refusals: otherRefusals,
      seconds_until_all_confirmed: Math.round(secondsUntilConfirmed * 10) / 10,
      completed_subscription_workflows: confirmed,
      confirmed_in_postgres: loan.confirmedInPostgres,
      confirmed_per_s: Math.round(confirmedPerS),
      ratio_confirmed_to_temporal_ceiling:
        Math.round((confirmedPerS / temporal.completed_per_s) * 100) / 100,
      loan: { principal: opts.principal, subscribed: view.subscribed, status: view.status },
      subscribed_accepted: formatAmount(acceptedMinor, 'CNY'),
      subscribed_confirmed: formatAmount(confirmedMinor, 'CNY'),
      oversold: formatAmount(
        confirmedMinor > principalMinor ? confirmedMinor - principalMinor : 0n,
        'CNY',
      ),
      undersold: formatAmount(
        confirmedMinor < principalMinor ? principalMinor - confirmedMinor : 0n,
        'CNY',
      ),
      trial_balance_zero: trial.balanced,
      ceilings: {
        temporal_empty_workflow_one_activity_completed_per_s: temporal.completed_per_s,
        postgres_hot_row_updates_per_s: postgres.updates_per_s,
      },
    }),
  );
}

main().catch((err: Error) => {
  console.error(`[rush] error: ${err.stack ?? err.message}`);
  process.exit(1);
});
