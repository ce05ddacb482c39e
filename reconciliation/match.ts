// Two-way matching of a loaded statement against the ledger, in Postgres, by order number.
// Our side: every posted ledger transaction with an order number that moved money through the
// channel's clearing account on the day (an adjustment made by a reconciliation counts for the
// day it adjusts). Their side: the statement's lines. Each difference becomes an exception, once:
// a re-run of the day finds the same ones and adds nothing.
import type { Pool } from 'pg';
import type { Queryable } from '../ledger/types';
import type { ReconRunRef } from './statement';

export type ExceptionClass = 'OURS_ONLY' | 'THEIRS_ONLY' | 'AMOUNT_MISMATCH' | 'STATUS_MISMATCH' | 'DUPLICATE_AT_GATEWAY' | 'FEE_MISMATCH';

/** An order we posted that the statement does not list: the gateway is asked before it is called an exception. */
export interface OursOnlyCandidate {
  orderNo: string;
  kind: 'PAYOUT' | 'COLLECTION';
  amountMinor: string;
  currency: string;
}

export interface MatchResult {
  oursCount: number;
  oursMinor: string;
  matched: number;
  candidates: OursOnlyCandidate[];
}

/** The SQL of our side, with the channel and the day as the given parameters. */
const ours = (channel: string, day: string) => `
  SELECT t.metadata->>'orderNo' AS order_no,
         sum(CASE p.direction WHEN 'C' THEN p.amount ELSE -p.amount END) AS net,
         min(p.currency) AS currency
  FROM ledger_transactions t
  JOIN ledger_postings p ON p.transaction_id = t.id AND NOT p.pending
  JOIN ledger_accounts a ON a.id = p.account_id AND a.path = 'gateway:' || ${channel}::text || ':clearing'
  WHERE t.metadata ? 'orderNo' AND t.kind IN ('posted', 'post_pending')
    AND (t.metadata->>'reconDay' = ${day}::text
         OR (t.metadata->>'reconDay' IS NULL AND t.created_at >= ${day}::date AND t.created_at < ${day}::date + 1))
  GROUP BY 1`;
const OURS = ours('$2', '$3');

/** Who an order of ours concerns: the investor or borrower on the other side of it. */
const PARTY_OF = `(SELECT party_id FROM payouts WHERE order_no = x.order_no
   UNION ALL SELECT investor_id FROM deposits WHERE order_no = x.order_no
   UNION ALL SELECT l.borrower_id FROM repayment_collections c JOIN loans l ON l.id = c.loan_id WHERE c.order_no = x.order_no
   LIMIT 1)`;

/** We recorded the order as not executed (voided payout, failed deposit or collection). */
const WE_SAID_FAILED = `(EXISTS (SELECT 1 FROM payouts WHERE order_no = x.order_no AND status = 'FAILED')
   OR EXISTS (SELECT 1 FROM deposits WHERE order_no = x.order_no AND status = 'FAILED')
   OR EXISTS (SELECT 1 FROM repayment_collections WHERE order_no = x.order_no AND status = 'FAILED'))`;

/** We posted the order on another day: the statement of that day is where it belongs. */
const POSTED_ANOTHER_DAY = `EXISTS (SELECT 1 FROM ledger_transactions t2 WHERE t2.metadata->>'orderNo' = x.order_no AND t2.kind IN ('posted', 'post_pending'))`;

export async function matchRun(pool: Pool, run: ReconRunRef): Promise<MatchResult> {
  const params = [run.runId, run.channel, run.date];
  const { rows: [totals] } = await pool.query<{ n: number; total: string }>(
    `SELECT count(*)::int AS n, coalesce(sum(abs(net)), 0)::text AS total FROM (${ours('$1', '$2')}) o`, [run.channel, run.date]);
  await pool.query(
    `WITH ours AS (${OURS}),
     theirs AS (
       SELECT order_no, count(*) AS lines, sum(amount_minor)::bigint AS amount, min(kind) AS kind, min(currency) AS currency,
              count(DISTINCT currency) AS currencies, min(fee_minor) AS fee, min(amount_minor) AS one_amount
       FROM recon_statement_lines WHERE run_id = $1 GROUP BY order_no),
     x AS (
       SELECT coalesce(o.order_no, t.order_no) AS order_no, o.net, o.currency AS ours_currency,
              t.lines, t.amount, t.kind, t.currency, t.currencies, t.fee, t.one_amount,
              CASE WHEN o.net > 0 THEN 'PAYOUT' WHEN o.net < 0 THEN 'COLLECTION' END AS ours_kind
       FROM ours o FULL JOIN theirs t ON t.order_no = o.order_no),
     classified AS (
       SELECT x.*, ${PARTY_OF} AS party_id,
         CASE
           WHEN x.lines > 1 THEN 'DUPLICATE_AT_GATEWAY'
           WHEN x.net IS NOT NULL AND x.lines IS NOT NULL AND (abs(x.net) <> x.amount OR x.ours_currency <> x.currency OR x.ours_kind <> x.kind) THEN 'AMOUNT_MISMATCH'
           WHEN x.net IS NOT NULL AND x.lines IS NOT NULL
                AND x.fee <> gateway_expected_fee(x.kind, x.amount, (SELECT scale FROM ledger_currencies WHERE code = x.currency)) THEN 'FEE_MISMATCH'
           WHEN x.net IS NOT NULL AND x.lines IS NOT NULL THEN 'MATCHED'
           WHEN x.lines IS NOT NULL AND ${WE_SAID_FAILED} THEN 'STATUS_MISMATCH'
           WHEN x.lines IS NOT NULL AND ${POSTED_ANOTHER_DAY} THEN 'MATCHED'
           WHEN x.lines IS NOT NULL THEN 'THEIRS_ONLY'
           ELSE 'OURS_ONLY_CANDIDATE'
         END AS class
       FROM x)
     INSERT INTO recon_exceptions (run_id, class, order_no, kind, ours_minor, theirs_minor, party_id, detail)
     SELECT $1, class, order_no, coalesce(kind, ours_kind), abs(net), amount, party_id,
            jsonb_build_object('theirsLines', lines, 'theirsFee', fee, 'theirsCurrency', currency, 'oursCurrency', ours_currency)
     FROM classified WHERE class NOT IN ('MATCHED', 'OURS_ONLY_CANDIDATE')
     ON CONFLICT (run_id, class, order_no) DO NOTHING`, params);
  const { rows: candidates } = await pool.query<{ order_no: string; net: string; currency: string }>(
    `SELECT o.order_no, o.net::text, o.currency FROM (${OURS}) o
     WHERE NOT EXISTS (SELECT 1 FROM recon_statement_lines l WHERE l.run_id = $1 AND l.order_no = o.order_no)`, params);
  const { rows: [m] } = await pool.query<{ n: number }>(
    `SELECT count(DISTINCT o.order_no)::int AS n FROM (${OURS}) o JOIN recon_statement_lines l ON l.run_id = $1 AND l.order_no = o.order_no
     WHERE NOT EXISTS (SELECT 1 FROM recon_exceptions e WHERE e.run_id = $1 AND e.order_no = o.order_no)`, params);
  return {
    oursCount: totals.n, oursMinor: totals.total, matched: m.n,
    candidates: candidates.map((c) => ({ orderNo: c.order_no, kind: BigInt(c.net) > 0n ? 'PAYOUT' : 'COLLECTION', amountMinor: (BigInt(c.net) < 0n ? -BigInt(c.net) : BigInt(c.net)).toString(), currency: c.currency })),
  };
}

/** An order of ours the statement does not list, after asking the gateway: an exception of `cls`, once. */
export async function recordOursOnly(db: Queryable, run: ReconRunRef, c: OursOnlyCandidate, cls: 'OURS_ONLY' | 'STATUS_MISMATCH', gatewaySays: string): Promise<void> {
  await db.query(
    `INSERT INTO recon_exceptions (run_id, class, order_no, kind, ours_minor, party_id, detail)
     SELECT $1, $2, $3, $4, $5, ${PARTY_OF.replace(/x\.order_no/g, '$3')}, jsonb_build_object('gatewaySays', $6::text)
     ON CONFLICT (run_id, class, order_no) DO NOTHING`, [run.runId, cls, c.orderNo, c.kind, c.amountMinor, gatewaySays]);
}

export interface RunTotals {
  state: 'MATCHED' | 'EXCEPTIONS' | 'CLEAN';
  openExceptions: number;
}

/** After matching: EXCEPTIONS while any is open, else CLEAN (the day closes). */
export async function settleRun(db: Queryable, run: ReconRunRef, match: Pick<MatchResult, 'oursCount' | 'oursMinor' | 'matched'>): Promise<RunTotals> {
  const { rows: [r] } = await db.query<{ state: RunTotals['state']; open: number }>(
    `UPDATE recon_runs SET ours_count = $2, ours_minor = $3, matched = $4, matched_at = now(),
            state = CASE WHEN (SELECT count(*) FROM recon_exceptions WHERE run_id = $1 AND status = 'OPEN') > 0 THEN 'EXCEPTIONS' ELSE 'CLEAN' END,
            closed_at = CASE WHEN (SELECT count(*) FROM recon_exceptions WHERE run_id = $1 AND status = 'OPEN') > 0 THEN NULL ELSE coalesce(closed_at, now()) END
     WHERE id = $1
     RETURNING state, (SELECT count(*)::int FROM recon_exceptions WHERE run_id = $1 AND status = 'OPEN') AS open`,
    [run.runId, match.oursCount, match.oursMinor, match.matched]);
  return { state: r.state, openExceptions: r.open };
}
