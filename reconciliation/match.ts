// Two-way matching of a loaded statement against the ledger, in Postgres, by order number.
// Our side: every posted ledger transaction with an order number that moved money through the
// channel's clearing account on the (UTC) day (an adjustment made by a reconciliation counts for
// the day it adjusts). Their side: the statement's lines. Each difference becomes an exception,
// once: a re-run of the day finds the same ones and adds nothing. An order still in flight on our
// side is a PENDING line, not an exception; a re-run clears what no longer applies (CLEARED,
// audited).
import type { Pool } from 'pg';
import { writeAudit } from '../db/audit';
import { inTransaction } from '../db/pool';
import type { Queryable } from '../ledger/types';
import type { ReconRunRef } from './statement';

export type ExceptionClass =
  | 'OURS_ONLY'
  | 'THEIRS_ONLY'
  | 'AMOUNT_MISMATCH'
  | 'STATUS_MISMATCH'
  | 'DUPLICATE_AT_GATEWAY'
  | 'FEE_MISMATCH';
/**
 * Lines that are not exceptions yet: our order is in flight, or the gateway could not say. Never
 * resolvable.
 */
export type PendingClass = 'IN_FLIGHT' | 'UNKNOWN';
/**
 * OPEN: an operator's work item. PENDING: looked at again on the next run. CLEARED: no longer
 * applies.
 */
export type LineStatus = 'OPEN' | 'PENDING' | 'RESOLVED' | 'CLEARED';

/** Who clears lines that no longer apply, in the audit log. */
export const RECON_ACTOR = 'system:reconciliation';

/**
 * An order we posted that the statement does not list: the gateway is asked before it is called an
 * exception.
 */
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
  /**
   * In order-number order (bytewise), so an interrupted pass can resume after the last one asked.
   */
  candidates: OursOnlyCandidate[];
}

/** UTC midnight of a date expression, whatever the session's time zone. */
const utcMidnight = (date: string) => `((${date})::timestamp AT TIME ZONE 'UTC')`;

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
         OR (t.metadata->>'reconDay' IS NULL AND t.created_at >= ${utcMidnight(`${day}::date`)} AND t.created_at < ${utcMidnight(`${day}::date + 1`)}))
  GROUP BY 1`;
const OURS = ours('$2', '$3');

/** Who an order of ours concerns: the investor or borrower on the other side of it. */
export const partyOf = (
  orderNo: string,
) => `(SELECT party_id FROM payouts WHERE order_no = ${orderNo}
   UNION ALL SELECT investor_id FROM deposits WHERE order_no = ${orderNo}
   UNION ALL SELECT l.borrower_id FROM repayment_collections c JOIN loans l ON l.id = c.loan_id WHERE c.order_no = ${orderNo}
   UNION ALL SELECT r.investor_id FROM recovery_collections c JOIN recoveries r ON r.id = c.recovery_id WHERE c.order_no = ${orderNo}
   LIMIT 1)`;

/** We recorded the order as not executed (voided payout, failed deposit or collection). */
const WE_SAID_FAILED = `(EXISTS (SELECT 1 FROM payouts WHERE order_no = x.order_no AND status = 'FAILED')
   OR EXISTS (SELECT 1 FROM deposits WHERE order_no = x.order_no AND status = 'FAILED')
   OR EXISTS (SELECT 1 FROM repayment_collections WHERE order_no = x.order_no AND status = 'FAILED')
   OR EXISTS (SELECT 1 FROM recovery_collections WHERE order_no = x.order_no AND status = 'FAILED'))`;

/** Our workflow for the order has not settled yet (submitted, querying, in manual review). */
export const inFlight = (
  orderNo: string,
) => `(EXISTS (SELECT 1 FROM payouts WHERE order_no = ${orderNo} AND status IN ('HELD', 'MANUAL_REVIEW'))
   OR EXISTS (SELECT 1 FROM deposits WHERE order_no = ${orderNo} AND status IN ('PENDING', 'MANUAL_REVIEW'))
   OR EXISTS (SELECT 1 FROM repayment_collections WHERE order_no = ${orderNo} AND status IN ('SUBMITTED', 'MANUAL_REVIEW'))
   OR EXISTS (SELECT 1 FROM recovery_collections WHERE order_no = ${orderNo} AND status IN ('SUBMITTED', 'MANUAL_REVIEW')))`;

/** Another loaded day's statement of the channel lists the order too. */
const LISTED_ELSEWHERE = `EXISTS (SELECT 1 FROM recon_statement_lines l2 JOIN recon_runs r2 ON r2.id = l2.run_id
   WHERE l2.order_no = x.order_no AND l2.run_id <> $1 AND r2.channel = $2)`;

/**
 * Signed like our net (payouts positive): what every loaded statement of the channel lists for the
 * order.
 */
const THEIRS_ALL_DAYS = `(SELECT coalesce(sum(CASE l2.kind WHEN 'PAYOUT' THEN l2.amount_minor ELSE -l2.amount_minor END), 0)
   FROM recon_statement_lines l2 JOIN recon_runs r2 ON r2.id = l2.run_id WHERE l2.order_no = x.order_no AND r2.channel = $2)`;

/** What our ledger moved for the order through the clearing account, every day together. */
const OURS_ALL_DAYS = `(SELECT coalesce(sum(CASE p2.direction WHEN 'C' THEN p2.amount ELSE -p2.amount END), 0)
   FROM ledger_transactions t2 JOIN ledger_postings p2 ON p2.transaction_id = t2.id AND NOT p2.pending
   JOIN ledger_accounts a2 ON a2.id = p2.account_id AND a2.path = 'gateway:' || $2::text || ':clearing'
   WHERE t2.metadata->>'orderNo' = x.order_no AND t2.metadata ? 'orderNo' AND t2.kind IN ('posted', 'post_pending'))`;

/**
 * The line's own amount, currency and direction posted by us on another day (an order crossing
 * midnight), and not reversed since: the order's net over every day is the line's (an order
 * adjusted away as not executed, that the gateway then executes late, is an exception). The
 * posting's own day must not list the order too: there it is already matched, and this line is a
 * second payment.
 */
const POSTED_ANOTHER_DAY_SAME = `EXISTS (SELECT 1 FROM ledger_transactions t2
   JOIN ledger_postings p2 ON p2.transaction_id = t2.id AND NOT p2.pending
   JOIN ledger_accounts a2 ON a2.id = p2.account_id AND a2.path = 'gateway:' || $2::text || ':clearing'
   WHERE t2.metadata->>'orderNo' = x.order_no AND t2.metadata ? 'orderNo' AND t2.kind IN ('posted', 'post_pending')
   GROUP BY t2.id HAVING min(p2.currency) = x.currency
     AND sum(CASE p2.direction WHEN 'C' THEN p2.amount ELSE -p2.amount END) = CASE x.kind WHEN 'PAYOUT' THEN x.amount ELSE -x.amount END)
   AND ${OURS_ALL_DAYS} = CASE x.kind WHEN 'PAYOUT' THEN x.amount ELSE -x.amount END`;
const POSTED_ANOTHER_DAY = `EXISTS (SELECT 1 FROM ledger_transactions t2 WHERE t2.metadata->>'orderNo' = x.order_no AND t2.metadata ? 'orderNo' AND t2.kind IN ('posted', 'post_pending'))`;

/** Every order of the day, one class each, into a temporary table of the matching transaction. */
const CLASSIFY = `
  CREATE TEMP TABLE recon_classified ON COMMIT DROP AS
  WITH ours AS (${OURS}),
  theirs AS (
    SELECT order_no, count(*) AS lines, sum(amount_minor)::bigint AS amount, min(kind) AS kind, min(currency) AS currency,
           count(DISTINCT currency) AS currencies, min(fee_minor) AS fee
    FROM recon_statement_lines WHERE run_id = $1 GROUP BY order_no),
  x AS (
    SELECT coalesce(o.order_no, t.order_no) AS order_no, o.net, o.currency AS ours_currency,
           t.lines, t.amount, t.kind, t.currency, t.currencies, t.fee,
           CASE WHEN o.net > 0 THEN 'PAYOUT' WHEN o.net < 0 THEN 'COLLECTION' END AS ours_kind
    FROM ours o FULL JOIN theirs t ON t.order_no = o.order_no)
  SELECT x.order_no, x.net IS NOT NULL AS has_ours, coalesce(x.kind, x.ours_kind) AS kind, abs(x.net) AS ours_minor, x.amount AS theirs_minor,
    ${partyOf('x.order_no')} AS party_id,
    jsonb_build_object('theirsLines', x.lines, 'theirsFee', x.fee, 'theirsCurrency', x.currency, 'oursCurrency', x.ours_currency) AS detail,
    CASE
      WHEN ${inFlight('x.order_no')} THEN 'IN_FLIGHT'
      WHEN x.lines IS NULL AND x.net = 0 THEN 'MATCHED' -- posted and corrected back on the day: nothing moved, nothing to ask
      WHEN x.lines > 1 THEN 'DUPLICATE_AT_GATEWAY'
      WHEN x.net IS NOT NULL AND x.lines IS NOT NULL AND (abs(x.net) <> x.amount OR x.ours_currency <> x.currency OR x.ours_kind <> x.kind) THEN 'AMOUNT_MISMATCH'
      WHEN x.net IS NOT NULL AND x.lines IS NOT NULL AND ${LISTED_ELSEWHERE} AND ${THEIRS_ALL_DAYS} <> ${OURS_ALL_DAYS} THEN 'DUPLICATE_AT_GATEWAY'
      WHEN x.net IS NOT NULL AND x.lines IS NOT NULL
           AND x.fee <> gateway_expected_fee(x.kind, x.amount, (SELECT scale FROM ledger_currencies WHERE code = x.currency)) THEN 'FEE_MISMATCH'
      WHEN x.net IS NOT NULL AND x.lines IS NOT NULL THEN 'MATCHED'
      WHEN x.lines IS NOT NULL AND ${WE_SAID_FAILED} THEN 'STATUS_MISMATCH'
      WHEN x.lines IS NOT NULL AND ${POSTED_ANOTHER_DAY} AND ${LISTED_ELSEWHERE} THEN 'DUPLICATE_AT_GATEWAY'
      WHEN x.lines IS NOT NULL AND ${POSTED_ANOTHER_DAY_SAME} THEN 'MATCHED'
      WHEN x.lines IS NOT NULL AND ${POSTED_ANOTHER_DAY} THEN 'AMOUNT_MISMATCH'
      WHEN x.lines IS NOT NULL THEN 'THEIRS_ONLY'
      ELSE 'OURS_ONLY_CANDIDATE'
    END AS class
  FROM x`;

interface ClearedRow {
  id: string;
  class: string;
  order_no: string;
  now_class: string;
}

/** Each line that no longer applies is CLEARED with an audit row, in the caller's transaction. */
async function auditCleared(
  tx: Queryable,
  run: ReconRunRef,
  rows: ClearedRow[],
  why: string,
): Promise<void> {
  for (const r of rows) {
    await writeAudit(tx, {
      actor: RECON_ACTOR,
      action: 'exception.cleared',
      subject: `${run.runId}#${r.id}`,
      reason: why,
      details: { orderNo: r.order_no, class: r.class, now: r.now_class },
    });
  }
}

export async function matchRun(pool: Pool, run: ReconRunRef): Promise<MatchResult> {
  const params = [run.runId, run.channel, run.date];
  return inTransaction(pool, async (tx) => {
    // One matching of a day at a time; a resolution of one of its exceptions waits on the row
    // locks.
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `recon-run:${run.runId}`,
    ]);
    const {
      rows: [totals],
    } = await tx.query<{ n: number; total: string }>(
      `SELECT count(*)::int AS n, coalesce(sum(abs(net)), 0)::text AS total FROM (${ours('$1', '$2')}) o`,
      [run.channel, run.date],
    );
    await tx.query(CLASSIFY, params);

    // What no longer applies: the order's class on this run changed (settled, posted, matched),
    // or it left the day altogether. Orders of ours missing from the statement are the gateway's
    // to answer (recordCandidate); an exception a gateway notice opened stays until matched.
    const { rows: cleared } = await tx.query<ClearedRow>(
      `UPDATE recon_exceptions e SET status = 'CLEARED', cleared_at = now(),
              detail = e.detail || jsonb_build_object('clearedBy', 'rematch', 'now', coalesce(c.class, 'ABSENT'))
       FROM (SELECT e2.id, (SELECT k.class FROM recon_classified k WHERE k.order_no = e2.order_no) AS class
             FROM recon_exceptions e2 WHERE e2.run_id = $1 AND e2.status IN ('OPEN', 'PENDING')) c
       WHERE e.id = c.id AND e.status IN ('OPEN', 'PENDING')
         AND c.class IS DISTINCT FROM e.class AND c.class IS DISTINCT FROM 'OURS_ONLY_CANDIDATE'
         AND NOT (c.class IS NULL AND e.detail->>'source' = 'notice')
       RETURNING e.id::text, e.class, e.order_no, coalesce(c.class, 'ABSENT') AS now_class`,
      [run.runId],
    );
    await auditCleared(tx, run, cleared, 'no longer applies on a re-match of the day');

    // New exceptions and pending lines, once per (day, class, order); an order that already has
    // an open exception elsewhere keeps that one (its resolution re-derives the whole order).
    await tx.query(
      `INSERT INTO recon_exceptions (run_id, class, order_no, kind, ours_minor, theirs_minor, party_id, detail, status)
       SELECT $1, class, order_no, kind, ours_minor, theirs_minor, party_id, detail, CASE class WHEN 'IN_FLIGHT' THEN 'PENDING' ELSE 'OPEN' END
       FROM recon_classified WHERE class NOT IN ('MATCHED', 'OURS_ONLY_CANDIDATE')
       ON CONFLICT DO NOTHING`,
      [run.runId],
    );

    const { rows: candidates } = await tx.query<{
      order_no: string;
      net: string;
      currency: string;
    }>(
      `SELECT c.order_no, o.net::text, o.currency
       FROM recon_classified c JOIN (${ours('$1', '$2')}) o ON o.order_no = c.order_no
       WHERE c.class = 'OURS_ONLY_CANDIDATE' ORDER BY c.order_no COLLATE "C"`,
      [run.channel, run.date],
    );
    const {
      rows: [m],
    } = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM recon_classified c WHERE c.class = 'MATCHED' AND c.has_ours
       AND NOT EXISTS (SELECT 1 FROM recon_exceptions e WHERE e.run_id = $1 AND e.order_no = c.order_no AND e.status <> 'CLEARED')`,
      [run.runId],
    );
    return {
      oursCount: totals.n,
      oursMinor: totals.total,
      matched: m.n,
      candidates: candidates.map((c) => ({
        orderNo: c.order_no,
        kind: BigInt(c.net) > 0n ? 'PAYOUT' : 'COLLECTION',
        amountMinor: (BigInt(c.net) < 0n ? -BigInt(c.net) : BigInt(c.net)).toString(),
        currency: c.currency,
      })),
    };
  });
}

/** What the gateway answered about a candidate, reduced to what matching needs. */
export type CandidateAnswer = 'executed' | 'failed' | 'not_found' | 'unknown';

/**
 * An order of ours the statement does not list, after asking the gateway, in one transaction:
 * executed → nothing to see (another day's statement); failed (any code) → STATUS_MISMATCH; never
 * seen → OURS_ONLY; unknown → a PENDING UNKNOWN line asked again next run (an exception already
 * open for it stays: an unknown answer is not evidence either way). Earlier lines it replaces are
 * CLEARED.
 */
export async function recordCandidate(
  pool: Pool,
  run: ReconRunRef,
  c: OursOnlyCandidate,
  answer: CandidateAnswer,
  gatewaySays: string,
): Promise<void> {
  await inTransaction(pool, async (tx) => {
    const { rows: current } = await tx.query<{ id: string; class: string }>(
      `SELECT id::text, class FROM recon_exceptions WHERE run_id = $1 AND order_no = $2 AND status IN ('OPEN', 'PENDING') FOR UPDATE`,
      [run.runId, c.orderNo],
    );
    // An exception already open stays on an unknown answer; an in-flight line gives way to it.
    if (answer === 'unknown' && current.some((e) => e.class !== 'IN_FLIGHT')) return;
    const cls =
      answer === 'failed'
        ? 'STATUS_MISMATCH'
        : answer === 'not_found'
          ? 'OURS_ONLY'
          : answer === 'unknown'
            ? 'UNKNOWN'
            : undefined;
    const stale = current.filter((e) => e.class !== cls);
    if (stale.length > 0) {
      await tx.query(
        `UPDATE recon_exceptions SET status = 'CLEARED', cleared_at = now(), detail = detail || jsonb_build_object('clearedBy', 'rematch', 'now', $2::text)
         WHERE id = ANY($1::bigint[])`,
        [stale.map((e) => e.id), cls ?? 'EXECUTED'],
      );
      await auditCleared(
        tx,
        run,
        stale.map((e) => ({
          id: e.id,
          class: e.class,
          order_no: c.orderNo,
          now_class: cls ?? 'EXECUTED',
        })),
        `the gateway says ${gatewaySays}`,
      );
    }
    if (!cls) return;
    await tx.query(
      `INSERT INTO recon_exceptions (run_id, class, order_no, kind, ours_minor, party_id, detail, status)
       SELECT $1, $2, $3, $4, $5, ${partyOf('$3')}, jsonb_build_object('gatewaySays', $6::text, 'oursCurrency', $7::text), $8
       ON CONFLICT DO NOTHING`,
      [
        run.runId,
        cls,
        c.orderNo,
        c.kind,
        c.amountMinor,
        gatewaySays,
        c.currency,
        cls === 'UNKNOWN' ? 'PENDING' : 'OPEN',
      ],
    );
  });
}

export interface RunTotals {
  state: 'MATCHED' | 'PENDING' | 'EXCEPTIONS' | 'CLEAN';
  openExceptions: number;
  pendingLines: number;
}

/**
 * After matching: EXCEPTIONS while any is open, PENDING while a line waits for its order, else
 * CLEAN (the day closes).
 */
export async function settleRun(
  db: Queryable,
  run: ReconRunRef,
  match: Pick<MatchResult, 'oursCount' | 'oursMinor' | 'matched'>,
): Promise<RunTotals> {
  const {
    rows: [r],
  } = await db.query<{ state: RunTotals['state']; open: number; pending: number }>(
    `WITH n AS (SELECT count(*) FILTER (WHERE status = 'OPEN')::int AS open, count(*) FILTER (WHERE status = 'PENDING')::int AS pending
                FROM recon_exceptions WHERE run_id = $1)
     UPDATE recon_runs SET ours_count = $2, ours_minor = $3, matched = $4, matched_at = now(),
            state = CASE WHEN n.open > 0 THEN 'EXCEPTIONS' WHEN n.pending > 0 THEN 'PENDING' ELSE 'CLEAN' END,
            closed_at = CASE WHEN n.open + n.pending > 0 THEN NULL ELSE coalesce(closed_at, now()) END
     FROM n WHERE id = $1
     RETURNING state, n.open, n.pending`,
    [run.runId, match.oursCount, match.oursMinor, match.matched],
  );
  return { state: r.state, openExceptions: r.open, pendingLines: r.pending };
}
