// Issue 15 item 6: reconciliation days are UTC whatever the database session's default time zone
// (createPool pins TimeZone=UTC on every connection), and a statement line matched to a posting
// of another day must have the posting's amount and currency and must not be that posting's own
// day's match already: a cross-day duplicate payment is an exception, not MATCHED.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Readable } from 'node:stream';
import { STATEMENT_COLUMNS } from '../../gateway/protocol';
import { Ledger } from '../../ledger';
import { createPool } from '../../db/pool';
import { matchRun } from '../../reconciliation/match';
import { loadStatement, reconRunId } from '../../reconciliation/statement';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor } from '../helpers/stack';

// A login role of this file's own whose sessions default to Asia/Shanghai (UTC+8): the shared
// cluster's configuration is not touched, and the role is dropped afterwards.
const role = `tz_${randomBytes(4).toString('hex')}`;
const url = () => {
  const u = new URL(db.url);
  u.username = role;
  return u.toString();
};
let shanghai: ReturnType<typeof createPool> | undefined;
// Before the database's hooks: the pool and the role go before the schema's pool closes.
afterAll(async () => {
  await shanghai?.end();
  await db.pool.query(`DROP ROLE IF EXISTS ${role}`);
});
const db = useTestDatabase();
const pinned = () => {
  if (!shanghai) throw new Error('ready only inside tests');
  return shanghai;
};

beforeAll(async () => {
  await db.pool.query(`CREATE ROLE ${role} LOGIN IN ROLE lending_app`);
  await db.pool.query(`ALTER ROLE ${role} SET TimeZone = 'Asia/Shanghai'`);
  // a member of lending_app: its rights
  shanghai = createPool({ connectionString: url(), schema: db.schema, max: 2 });
  await new Ledger(db.pool).createAccount({ path: 'investor:tz-inv:available', currency: 'CNY' });
  await fundInvestor(db, 'tz-inv', 1_000_000n);
});

const D = '2026-03-10';
const NEXT = '2026-03-11';
const run = (date: string) => ({ runId: reconRunId('default', date), channel: 'default', date });
const csv = (date: string, ...lines: [string, string][]) =>
  Readable.from([
    `${STATEMENT_COLUMNS.join(',')}\n${lines.map(([o, amount]) => `${o},gt-${o},PAYOUT,SUCCESS,${amount},CNY,1.00,${date}T12:00:00Z\n`).join('')}`,
  ]);

/** A payout-like posting of ours through the clearing account, at an exact instant. */
async function postedAt(orderNo: string, amountMinor: bigint, at: string): Promise<void> {
  await new Ledger(db.pool).transfer({
    idempotencyKey: `tz:${orderNo}`,
    from: 'investor:tz-inv:available',
    to: 'gateway:default:clearing',
    amount: amountMinor,
    currency: 'CNY',
    metadata: { orderNo },
  });
  const client = await db.pool.connect();
  try {
    // The ledger is append-only; a fixture may move its clock, as superuser, with triggers off.
    await client.query('BEGIN');
    await client.query(`SET LOCAL session_replication_role = replica`);
    await client.query(
      `UPDATE ledger_transactions SET created_at = $2 WHERE idempotency_key = $1`,
      [`tz:${orderNo}`, at],
    );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

it('reconciliation days are UTC on a connection whose session defaults to Asia/Shanghai', async () => {
  // The role's sessions really are Shanghai unless pinned: an unpinned connection's "day" starts 8
  // h early.
  const unpinned = new Client({ connectionString: url() });
  await unpinned.connect();
  try {
    const {
      rows: [r],
    } = await unpinned.query(
      `SELECT current_setting('TimeZone') AS tz, ($1::date)::timestamptz = $2::timestamptz AS utc_midnight`,
      [D, `${D}T00:00:00Z`],
    );
    expect(r).toEqual({ tz: 'Asia/Shanghai', utc_midnight: false });
  } finally {
    await unpinned.end();
  }
  expect((await pinned().query(`SELECT current_setting('TimeZone') AS tz`)).rows[0].tz).toBe('UTC');
  // Settings in the connection string's own options are kept, but never over the pin.
  const withOptions = new URL(url());
  withOptions.searchParams.set('options', '-c TimeZone=Asia/Shanghai -c statement_timeout=12345');
  const urlPool = createPool({
    connectionString: withOptions.toString(),
    schema: db.schema,
    max: 1,
  });
  try {
    const {
      rows: [s],
    } = await urlPool.query(
      `SELECT current_setting('TimeZone') AS tz, current_setting('statement_timeout') AS st, current_schema() AS schema`,
    );
    expect(s).toEqual({ tz: 'UTC', st: '12345ms', schema: db.schema });
  } finally {
    await urlPool.end();
  }

  // Posted at 20:00 UTC on D (04:00 on D+1 in Shanghai); executed at noon UTC on D.
  await postedAt('tz-evening', 12_000n, `${D}T20:00:00Z`);
  await loadStatement(db.pool, run(D), csv(D, ['tz-evening', '120.00']));
  await loadStatement(db.pool, run(NEXT), csv(NEXT));
  const day = await matchRun(pinned(), run(D));
  expect({ ours: day.oursCount, matched: day.matched, candidates: day.candidates }).toEqual({
    ours: 1,
    matched: 1,
    candidates: [],
  });
  const next = await matchRun(pinned(), run(NEXT));
  expect({ ours: next.oursCount, candidates: next.candidates }).toEqual({
    ours: 0,
    candidates: [],
  }); // not an order of D+1 to ask about
  expect(
    (
      await db.pool.query(
        `SELECT count(*)::int AS n FROM recon_exceptions WHERE run_id IN ($1, $2)`,
        [run(D).runId, run(NEXT).runId],
      )
    ).rows[0].n,
  ).toBe(0);
});

it("a cross-day duplicate payment is an exception, not MATCHED, and another day's posting matches only its own amount", async () => {
  const [d, next] = ['2026-04-01', '2026-04-02'];
  // paid once by us, listed on both days by the gateway
  await postedAt('tz-dup', 5_000n, `${d}T09:00:00Z`);
  // executed 23:59:59 on d, posted just after midnight
  await postedAt('tz-cross', 7_000n, `${next}T00:00:01Z`);
  await postedAt('tz-amount', 8_000n, `${next}T00:00:02Z`); // executed on d for another amount
  // Day by day, as the daily runs do.
  await loadStatement(
    db.pool,
    run(d),
    csv(d, ['tz-dup', '50.00'], ['tz-cross', '70.00'], ['tz-amount', '90.00']),
  );
  await matchRun(db.pool, run(d));
  await loadStatement(db.pool, run(next), csv(next, ['tz-dup', '50.00']));
  const second = await matchRun(db.pool, run(next));
  const { rows } = await db.pool.query(
    `SELECT run_id, class, order_no, status FROM recon_exceptions WHERE run_id IN ($1, $2) ORDER BY order_no`,
    [run(d).runId, run(next).runId],
  );
  expect(rows).toEqual([
    { run_id: run(d).runId, class: 'AMOUNT_MISMATCH', order_no: 'tz-amount', status: 'OPEN' },
    { run_id: run(next).runId, class: 'DUPLICATE_AT_GATEWAY', order_no: 'tz-dup', status: 'OPEN' },
  ]);
  // ours on d+1: asked at the gateway
  expect(second.candidates.map((c) => c.orderNo)).toEqual(['tz-amount', 'tz-cross']);
  // A re-run of d now sees d+1's listing too: still one open exception for the order, not two.
  await matchRun(db.pool, run(d));
  const { rows: dup } = await db.pool.query(
    `SELECT run_id FROM recon_exceptions WHERE order_no = 'tz-dup' AND status = 'OPEN'`,
  );
  expect(dup).toEqual([{ run_id: run(next).runId }]);
});

it('an order adjusted away as not executed, that a later statement lists after all, is an exception, not MATCHED by its first posting', async () => {
  const LATER = '2026-03-12';
  await postedAt('tz-late', 4_000n, `${D}T09:00:00Z`);
  // A reconciliation of D adjusted it back (the gateway said FAILED, the statement was silent).
  await new Ledger(db.pool).transfer({
    idempotencyKey: 'tz:tz-late:adjust',
    from: 'gateway:default:clearing',
    to: 'platform:suspense',
    amount: 4_000n,
    currency: 'CNY',
    metadata: { orderNo: 'tz-late', reconDay: D, exceptionId: 'fixture' },
  });
  await loadStatement(db.pool, run(D), csv(D));
  // it executed after all
  await loadStatement(db.pool, run(LATER), csv(LATER, ['tz-late', '40.00']));
  await matchRun(db.pool, run(LATER));
  const { rows } = await db.pool.query(
    `SELECT class, status FROM recon_exceptions WHERE run_id = $1 AND order_no = 'tz-late'`,
    [run(LATER).runId],
  );
  expect(rows).toEqual([{ class: 'AMOUNT_MISMATCH', status: 'OPEN' }]);
});
