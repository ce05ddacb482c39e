// A day's gateway statement into Postgres: the CSV is streamed with COPY into a staging table and
// turned into statement lines in minor units, replacing whatever an earlier run of the day
// loaded. No line ever sits in a workflow's history or in this process's memory.
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { STATEMENT_COLUMNS } from '../gateway/protocol';
import type { Queryable } from '../ledger/types';
import { inTransaction } from '../db/pool';

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

export class StatementRefused extends Error {
  override readonly name = 'StatementRefused';
}

/**
 * Plain decimals only: digits, an optional fraction, no sign, no exponent, at most 15 integer
 * digits (fits a bigint at any scale we use).
 */
const DECIMAL = '^[0-9]{1,15}([.][0-9]+)?$';
const LINES_SHOWN_MAX = 5;

/**
 * A statement line we cannot take exactly (an unknown currency, an amount or fee that is not a
 * plain decimal, or with more decimals than the currency's scale) refuses the whole load: the
 * transaction rolls back and the day's earlier load, if any, stands.
 */
async function refuseMalformedLines(tx: Queryable, runId: string): Promise<void> {
  const { rows } = await tx.query<{ line_no: number; order_no: string; problem: string }>(
    `SELECT s.line_no, s.order_no,
            CASE WHEN c.code IS NULL THEN 'unknown currency ' || coalesce(s.currency, '(none)')
                 WHEN coalesce(s.amount, '') !~ $1 THEN 'amount ' || coalesce(s.amount, '(none)') || ' is not a plain decimal'
                 WHEN coalesce(s.fee, '') !~ $1 THEN 'fee ' || coalesce(s.fee, '(none)') || ' is not a plain decimal'
                 WHEN length(split_part(s.amount, '.', 2)) > c.scale THEN 'amount ' || s.amount || ' has more decimals than ' || c.code || ' allows (' || c.scale || ')'
                 ELSE 'fee ' || s.fee || ' has more decimals than ' || c.code || ' allows (' || c.scale || ')'
            END AS problem
     FROM recon_stage s LEFT JOIN ledger_currencies c ON c.code = s.currency
     WHERE c.code IS NULL OR coalesce(s.amount, '') !~ $1 OR coalesce(s.fee, '') !~ $1
        OR length(split_part(s.amount, '.', 2)) > c.scale OR length(split_part(s.fee, '.', 2)) > c.scale
     ORDER BY s.line_no LIMIT $2`,
    [DECIMAL, LINES_SHOWN_MAX + 1],
  );
  if (rows.length === 0) return;
  const shown = rows
    .slice(0, LINES_SHOWN_MAX)
    .map((r) => `line ${r.line_no} (${r.order_no}): ${r.problem}`);
  throw new StatementRefused(
    `statement ${runId} refused, nothing loaded: ${shown.join('; ')}${rows.length > LINES_SHOWN_MAX ? '; and more' : ''}`,
  );
}

/** Loads (or reloads) the statement of the run's day; the run is FETCHED. */
export async function loadStatement(
  pool: Pool,
  run: ReconRunRef,
  csv: Readable,
): Promise<LoadedStatement> {
  return inTransaction(pool, async (tx) => {
    await tx.query(
      `INSERT INTO recon_runs (id, channel, day, state) VALUES ($1, $2, $3, 'FETCHED')
       ON CONFLICT (id) DO UPDATE SET state = 'FETCHED', matched_at = NULL`,
      [run.runId, run.channel, run.date],
    );
    await tx.query('DELETE FROM recon_statement_lines WHERE run_id = $1', [run.runId]);
    await tx.query(`CREATE TEMP TABLE recon_stage (
      line_no int GENERATED ALWAYS AS IDENTITY,
      order_no text, gateway_trade_no text, kind text, status text, amount text, currency text, fee text, executed_at text
    ) ON COMMIT DROP`);
    await pipeline(
      csv,
      tx.query(
        copyFrom(
          `COPY recon_stage (${STATEMENT_COLUMNS.join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER MATCH)`,
        ),
      ),
    );
    await refuseMalformedLines(tx, run.runId); // before any cast: a bad line names itself
    // Decimal strings to minor units by the currency's scale, in exact numeric (never a float).
    await tx.query(
      `INSERT INTO recon_statement_lines (run_id, line_no, order_no, gateway_trade_no, kind, status, amount_minor, currency, fee_minor, executed_at)
       SELECT $1, s.line_no, s.order_no, s.gateway_trade_no, s.kind, s.status,
              (s.amount::numeric * power(10::numeric, c.scale))::bigint, s.currency, (s.fee::numeric * power(10::numeric, c.scale))::bigint,
              s.executed_at::timestamptz
       FROM recon_stage s JOIN ledger_currencies c ON c.code = s.currency`,
      [run.runId],
    );
    const { rows } = await tx.query<{ lines: number; total: string }>(
      `UPDATE recon_runs SET theirs_count = t.lines, theirs_minor = t.total
       FROM (SELECT count(*)::int AS lines, coalesce(sum(amount_minor), 0) AS total FROM recon_statement_lines WHERE run_id = $1) t
       WHERE id = $1 RETURNING t.lines, t.total::text`,
      [run.runId],
    );
    return { lines: rows[0].lines, theirsMinor: rows[0].total };
  });
}
