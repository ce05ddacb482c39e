// Ledger throughput on the real Postgres, printed, never asserted:
//   (a) balanced transfers between random pairs of 10,000 accounts
//   (b) transfers into one hot account (16 balance slots; also 1 slot, for comparison)
//   (c) the ceiling: a bare single-row `UPDATE ... SET n = n + 1` on the same Postgres
// each at 1, 8 and 32 concurrent clients. The last line is JSON with the figures and ratios to (c).
//   npm run bench:ledger -- [--seconds 8] [--accounts 10000] [--clients 1,8,32]
import { Command } from 'commander';
import { Client } from 'pg';
import { Ledger } from '../ledger';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { LedgerBatcher } from '../ledger/batcher';
import { transfer } from '../ledger/transactions';
import { databaseUrlOption } from './options';

const SCHEMA = 'bench_ledger';
const FUNDING_MINOR = 1_000_000_000n;

interface Cell {
  rate_per_s: number;
  p50_ms: number;
  p99_ms: number;
  ops: number;
  errors: number;
}

const program = new Command()
  .description(
    "Ledger transfers/s against the bare Postgres hot-row ceiling, on the project's Postgres.",
  )
  .addOption(databaseUrlOption('a schema bench_ledger is dropped and recreated'))
  .option('--seconds <n>', 'duration of each measurement', '8')
  .option('--accounts <n>', 'accounts for the random-pairs run', '10000')
  .option('--clients <list>', 'concurrency levels', '1,8,32')
  .parse();
const opts = program.opts<{
  databaseUrl: string;
  seconds: string;
  accounts: string;
  clients: string;
}>();
const seconds = Number(opts.seconds);
const accountCount = Number(opts.accounts);
const levels = opts.clients.split(',').map(Number);
if (!(seconds > 0) || !(accountCount >= 2) || levels.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error('invalid --seconds, --accounts or --clients');
  process.exit(2);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return (
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 100) /
    100
  );
}

/**
 * Runs `op` in `clients` parallel loops for the configured time; each loop has its own connection.
 */
async function measure(
  name: string,
  clients: number,
  op: (client: Client, loop: number, i: number) => Promise<unknown>,
): Promise<Cell> {
  const connections = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new Client({
        connectionString: opts.databaseUrl,
        options: `-c search_path=${SCHEMA}`,
      });
      await c.connect();
      return c;
    }),
  );
  try {
    return await loops(name, clients, (loop, i) => op(connections[loop], loop, i));
  } finally {
    await Promise.all(connections.map((c) => c.end()));
  }
}

/** The same, with `clients` concurrent callers sharing one LedgerBatcher (group commit). */
async function measureBatched(
  name: string,
  clients: number,
  op: (batcher: LedgerBatcher, loop: number, i: number) => Promise<unknown>,
): Promise<Cell> {
  const inFlight = Math.min(clients, 4);
  const pool = createPool({ connectionString: opts.databaseUrl, schema: SCHEMA, max: inFlight });
  const batcher = new LedgerBatcher(pool, { maxInFlight: inFlight, maxBatch: 200 });
  try {
    const cell = await loops(name, clients, (loop, i) => op(batcher, loop, i));
    console.log(
      `  ${''.padEnd(22)} mean batch ${(batcher.stats.posts / Math.max(1, batcher.stats.batches)).toFixed(1)} posts, batch retries ${batcher.stats.retries}`,
    );
    return cell;
  } finally {
    await pool.end();
  }
}

async function loops(
  name: string,
  clients: number,
  op: (loop: number, i: number) => Promise<unknown>,
): Promise<Cell> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async (_, loop) => {
      for (let i = 0; Date.now() < deadline; i++) {
        const t0 = process.hrtime.bigint();
        try {
          await op(loop, i);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch (err) {
          errors += 1;
          if (errors <= 3) console.error(`  ${name}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const cell = {
    rate_per_s: Math.round(latencies.length / elapsedS),
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    ops: latencies.length,
    errors,
  };
  console.log(
    `  ${name.padEnd(22)} clients=${String(clients).padStart(2)}  ${String(cell.rate_per_s).padStart(6)}/s  p50 ${cell.p50_ms} ms  p99 ${cell.p99_ms} ms  errors ${errors}`,
  );
  return cell;
}

async function setUp(): Promise<void> {
  const admin = new Client({ connectionString: opts.databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.query(`CREATE SCHEMA ${SCHEMA}`);
  await admin.end();
  const pool = createPool({ connectionString: opts.databaseUrl, schema: SCHEMA, max: 2 });
  try {
    await migrate(pool);
    console.log(`[bench] creating and funding ${accountCount} accounts`);
    const investors = Array.from({ length: accountCount }, (_, i) => `investor:b${i}:available`);
    await pool.query(
      `SELECT ledger_create_account(p, 'CNY', false, 1::smallint, '{}') FROM unnest($1::text[]) AS p`,
      [investors],
    );
    await pool.query(
      `SELECT ledger_create_account('gateway:bench:clearing', 'CNY', true, 1::smallint, '{}')`,
    );
    await pool.query(
      `SELECT ledger_create_account('loan:hot16:escrow', 'CNY', false, 16::smallint, '{}')`,
    );
    await pool.query(
      `SELECT ledger_create_account('loan:hot1:escrow', 'CNY', false, 1::smallint, '{}')`,
    );
    const ledger = new Ledger(pool);
    const batch = 1000;
    for (let start = 0; start < accountCount; start += batch) {
      const part = investors.slice(start, start + batch);
      await ledger.post({
        idempotencyKey: `fund:${start}`,
        legs: [
          {
            account: 'gateway:bench:clearing',
            direction: 'debit',
            amount: FUNDING_MINOR * BigInt(part.length),
            currency: 'CNY',
          },
          ...part.map((account) => ({
            account,
            direction: 'credit' as const,
            amount: FUNDING_MINOR,
            currency: 'CNY',
          })),
        ],
      });
    }
    await pool.query('CREATE TABLE bench_counter (id int PRIMARY KEY, n bigint NOT NULL)');
    await pool.query('INSERT INTO bench_counter VALUES (1, 0)');
    await pool.query('ANALYZE');
  } finally {
    await pool.end();
  }
}

function randomAccount(): string {
  return `investor:b${Math.floor(Math.random() * accountCount)}:available`;
}

type Results = Record<string, Record<string, Cell>>;

/** Two distinct random investor accounts. */
function randomPair(): { from: string; to: string } {
  const from = randomAccount();
  let to = randomAccount();
  while (to === from) to = randomAccount();
  return { from, to };
}

/** Every cell of one concurrency level, in the order the summary lists them. */
async function measureLevel(result: Results, clients: number): Promise<void> {
  console.log(`[bench] ${clients} client(s), ${seconds} s each`);
  result.ceiling_hot_row_update[clients] = await measure('ceiling (bare UPDATE)', clients, (c) =>
    c.query('UPDATE bench_counter SET n = n + 1 WHERE id = 1'),
  );
  result.random_pairs[clients] = await measure('random pairs', clients, (c, loop, i) => {
    const { from, to } = randomPair();
    return transfer(c, {
      idempotencyKey: `pair:${clients}:${loop}:${i}`,
      from,
      to,
      amount: 1n + BigInt(i % 100),
      currency: 'CNY',
    });
  });
  for (const [label, hot] of [
    ['hot_account_16_slots', 'loan:hot16:escrow'],
    ['hot_account_1_slot', 'loan:hot1:escrow'],
  ] as const) {
    result[label][clients] = await measure(label.replace(/_/g, ' '), clients, (c, loop, i) =>
      transfer(c, {
        idempotencyKey: `${label}:${clients}:${loop}:${i}`,
        from: randomAccount(),
        to: hot,
        amount: 1n + BigInt(i % 100),
        currency: 'CNY',
      }),
    );
  }
  result.random_pairs_batched[clients] = await measureBatched(
    'random pairs, batched',
    clients,
    (b, loop, i) => {
      const { from, to } = randomPair();
      return b.transfer({
        idempotencyKey: `bpair:${clients}:${loop}:${i}`,
        from,
        to,
        amount: 1n + BigInt(i % 100),
        currency: 'CNY',
      });
    },
  );
  result.hot_account_16_slots_batched[clients] = await measureBatched(
    'hot 16 slots, batched',
    clients,
    (b, loop, i) =>
      b.transfer({
        idempotencyKey: `bhot:${clients}:${loop}:${i}`,
        from: randomAccount(),
        to: 'loan:hot16:escrow',
        amount: 1n + BigInt(i % 100),
        currency: 'CNY',
      }),
  );
}

/** What the run left in the ledger: every balance recomputed, the trial balance, the count. */
async function checkLedger(): Promise<{ clean: boolean; balanced: boolean; transactions: number }> {
  const pool = createPool({ connectionString: opts.databaseUrl, schema: SCHEMA, max: 1 });
  const ledger = new Ledger(pool);
  console.log('[bench] verify(): recomputing every balance from its postings');
  const check = await ledger.verify();
  const trial = await ledger.trialBalance();
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM ledger_transactions');
  await pool.end();
  return { clean: check.clean, balanced: trial.balanced, transactions: Number(rows[0].n) };
}

/** One figure of a measurement, by concurrency level. */
const byLevel = (result: Results, label: string, field: 'rate_per_s' | 'p99_ms') =>
  Object.fromEntries(levels.map((n) => [n, result[label][n][field]]));

/** The final JSON line: rates, ratios to the bare-UPDATE ceiling of the same level, p99s. */
function summarize(result: Results, ledger: Awaited<ReturnType<typeof checkLedger>>) {
  const ratio = (label: string) =>
    Object.fromEntries(
      levels.map((n) => [
        n,
        Math.round(
          (result[label][n].rate_per_s / result.ceiling_hot_row_update[n].rate_per_s) * 100,
        ) / 100,
      ]),
    );
  const measured = Object.keys(result).filter((k) => k !== 'ceiling_hot_row_update');
  return {
    bench: 'ledger',
    seconds_per_cell: seconds,
    accounts: accountCount,
    transfers_per_s: Object.fromEntries(measured.map((k) => [k, byLevel(result, k, 'rate_per_s')])),
    ceiling_updates_per_s: byLevel(result, 'ceiling_hot_row_update', 'rate_per_s'),
    ratio_to_ceiling: Object.fromEntries(measured.map((k) => [k, ratio(k)])),
    p99_ms: Object.fromEntries(Object.keys(result).map((k) => [k, byLevel(result, k, 'p99_ms')])),
    errors: Object.values(result).reduce(
      (s, v) => s + levels.reduce((t, n) => t + v[n].errors, 0),
      0,
    ),
    transactions_written: ledger.transactions,
    verify_clean: ledger.clean,
    trial_balance_zero: ledger.balanced,
  };
}

async function main(): Promise<void> {
  await setUp();
  const result: Results = {
    ceiling_hot_row_update: {},
    random_pairs: {},
    hot_account_16_slots: {},
    hot_account_1_slot: {},
    random_pairs_batched: {},
    hot_account_16_slots_batched: {},
  };
  for (const clients of levels) await measureLevel(result, clients);
  console.log(JSON.stringify(summarize(result, await checkLedger())));
}

main().catch((err: Error) => {
  console.error(`[bench] error: ${err.stack ?? err.message}`);
  process.exit(1);
});
