// A day's gateway statement into Postgres: the CSV is streamed with COPY into a staging table and
// turned into statement lines in minor units, replacing whatever an earlier run of the day
// loaded. No line ever sits in a workflow's history or in this process's memory.
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { inTransaction } from '../ledger/db';

export interface ReconRunRef {
  runId: string;
  channel: string;
  date: string;
}

export const reconRunId = (channel: string, date: string) => `${channel}:${date}`;

export interface LoadedStatement {
  lines: number;
  theirsMinor: string;
}

/** Loads (or reloads) the statement of the run's day; the run is FETCHED. */
export async function loadStatement(pool: Pool, run: ReconRunRef, csv: Readable): Promise<LoadedStatement> {
  return inTransaction(pool, async (tx) => {
    await tx.query(
      `INSERT INTO recon_runs (id, channel, day, state) VALUES ($1, $2, $3, 'FETCHED')
       ON CONFLICT (id) DO UPDATE SET state = 'FETCHED', matched_at = NULL`, [run.runId, run.channel, run.date]);
    await tx.query('DELETE FROM recon_statement_lines WHERE run_id = $1', [run.runId]);
    await tx.query(`CREATE TEMP TABLE recon_stage (
      order_no text, gateway_trade_no text, kind text, status text, amount text, currency text, fee text, executed_at text
    ) ON COMMIT DROP`);
    await pipeline(csv, tx.query(copyFrom('COPY recon_stage FROM STDIN WITH (FORMAT csv, HEADER true)')));
    // Decimal strings to minor units by the currency's scale; a malformed line fails the load.
    await tx.query(
      `INSERT INTO recon_statement_lines (run_id, line_no, order_no, gateway_trade_no, kind, status, amount_minor, currency, fee_minor, executed_at)
       SELECT $1, row_number() OVER (), s.order_no, s.gateway_trade_no, s.kind, s.status,
              (s.amount::numeric * 10 ^ c.scale)::bigint, s.currency, (s.fee::numeric * 10 ^ c.scale)::bigint, s.executed_at::timestamptz
       FROM recon_stage s JOIN ledger_currencies c ON c.code = s.currency`, [run.runId]);
    const { rows } = await tx.query<{ lines: number; total: string }>(
      `UPDATE recon_runs SET theirs_count = t.lines, theirs_minor = t.total
       FROM (SELECT count(*)::int AS lines, coalesce(sum(amount_minor), 0) AS total FROM recon_statement_lines WHERE run_id = $1) t
       WHERE id = $1 RETURNING t.lines, t.total::text`, [run.runId]);
    const { rows: staged } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM recon_stage');
    if (staged[0].n !== rows[0].lines) throw new Error(`statement ${run.runId}: ${staged[0].n - rows[0].lines} lines in an unknown currency`);
    return { lines: rows[0].lines, theirsMinor: rows[0].total };
  });
}
