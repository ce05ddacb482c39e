// A verified gateway notice that contradicts what we recorded for a finished order (SUCCESS for
// an order we voided or recorded FAILED; a definitive failure for one we posted) is an exception
// at once, on the day the gateway says it happened, without waiting for that day's statement:
// the day's matching later finds the same STATUS_MISMATCH and keeps this one.
import type { Pool } from 'pg';
import type { Queryable } from '../ledger/types';
import { writeAudit } from '../db/audit';
import { inTransaction } from '../db/pool';
import { partyOf } from './match';
import { reconRunId } from './statement';

export interface ContradictingNotice {
  notifyId: string;
  orderNo: string;
  channel: string;
  kind: 'PAYOUT' | 'COLLECTION';
  amountMinor: bigint;
  currency: string;
  /** What the gateway says: SUCCESS, or a definitive failure's code. */
  says: 'SUCCESS' | 'FAILED';
  /** What we recorded: FAILED or SUCCEEDED. */
  recorded: string;
  /** The gateway's event time (the day it happened); now when absent or in the future. */
  eventTime: string;
}

/**
 * The UTC day of the gateway's event, never after today (a statement of the future does not exist).
 */
export function noticeDay(eventTime: string, nowMs: number): string {
  const today = new Date(nowMs).toISOString().slice(0, 10);
  const at = Date.parse(eventTime);
  if (Number.isNaN(at)) return today;
  const day = new Date(at).toISOString().slice(0, 10);
  return day > today ? today : day;
}

/**
 * Opens (once) the STATUS_MISMATCH exception for the order; its id, or undefined when the order
 * already has an open one.
 */
export async function openNoticeException(
  pool: Pool,
  n: ContradictingNotice,
  nowMs: number,
): Promise<{ runId: string; day: string; exceptionId?: string }> {
  const day = noticeDay(n.eventTime, nowMs);
  const runId = reconRunId(n.channel, day);
  return inTransaction(pool, async (tx) => {
    // The day may not be reconciled yet (or be closed already): it is open again, with this
    // exception.
    await tx.query(
      `INSERT INTO recon_runs (id, channel, day, state) VALUES ($1, $2, $3, 'EXCEPTIONS')
       ON CONFLICT (id) DO UPDATE SET state = CASE WHEN recon_runs.state = 'FETCHED' THEN 'FETCHED' ELSE 'EXCEPTIONS' END, closed_at = NULL`,
      [runId, n.channel, day],
    );
    const executed = n.says === 'SUCCESS';
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO recon_exceptions (run_id, class, order_no, kind, ours_minor, theirs_minor, party_id, detail)
       SELECT $1, 'STATUS_MISMATCH', $2, $3, $4, $5, ${partyOf('$2')},
              jsonb_build_object('source', 'notice', 'notifyId', $6::text, 'gatewaySays', $7::text, 'recorded', $8::text, 'oursCurrency', $9::text, 'theirsCurrency', $9::text)
       ON CONFLICT DO NOTHING RETURNING id::text`,
      [
        runId,
        n.orderNo,
        n.kind,
        executed ? null : n.amountMinor.toString(),
        executed ? n.amountMinor.toString() : null,
        n.notifyId,
        n.says,
        n.recorded,
        n.currency,
      ],
    );
    const exceptionId = rows[0]?.id;
    if (exceptionId) {
      await writeAudit(tx, {
        actor: 'system:gateway-notice',
        action: 'exception.opened',
        subject: `${runId}#${exceptionId}`,
        reason: `the gateway says ${n.says}, we recorded ${n.recorded}`,
        details: { orderNo: n.orderNo, notifyId: n.notifyId, class: 'STATUS_MISMATCH' },
      });
    }
    return { runId, day, ...(exceptionId ? { exceptionId } : {}) };
  });
}

/**
 * Every verified notice stored for the order that contradicts what we now record for it: SUCCESS
 * for an order recorded FAILED, a definitive failure for one recorded SUCCEEDED.
 */
export async function findContradictingNotices(
  db: Queryable,
  orderNo: string,
): Promise<ContradictingNotice[]> {
  const { rows } = await db.query<{
    notify_id: string;
    says: 'SUCCESS' | 'FAILED';
    received_at: Date;
    kind: 'PAYOUT' | 'COLLECTION';
    status: string;
    amount_minor: string;
    currency: string;
    channel: string;
  }>(
    `WITH recorded AS (
       SELECT 'PAYOUT' AS kind, status, amount_minor, currency, channel FROM payouts WHERE order_no = $1
       UNION ALL SELECT 'COLLECTION', status, amount_minor, currency, channel FROM deposits WHERE order_no = $1
       UNION ALL SELECT 'COLLECTION', status, amount_minor, currency, channel FROM repayment_collections WHERE order_no = $1
       UNION ALL SELECT 'COLLECTION', status, amount_minor, currency, channel FROM recovery_collections WHERE order_no = $1)
     SELECT n.notify_id, n.status AS says, n.received_at, r.kind, r.status, r.amount_minor::text, r.currency, r.channel
     FROM gateway_notices n CROSS JOIN recorded r
     WHERE n.order_no = $1
       AND ((n.status = 'SUCCESS' AND r.status = 'FAILED') OR (n.status = 'FAILED' AND n.definitive AND r.status = 'SUCCEEDED'))
     ORDER BY n.received_at`,
    [orderNo],
  );
  return rows.map((r) => ({
    notifyId: r.notify_id,
    orderNo,
    channel: r.channel,
    kind: r.kind,
    amountMinor: BigInt(r.amount_minor),
    currency: r.currency,
    says: r.says,
    recorded: r.status,
    eventTime: r.received_at.toISOString(),
  }));
}

/**
 * Called after an order's final status commits (the activities that post, void or fail it): a
 * verified notice stored while the decision was being written (a SUCCESS notice crossing an
 * operator's not_paid) is raised now, as an alert and an exception. The notice route stores a
 * notice before it signals and checks again after, so whichever of the two comes second sees the
 * other's write: such a notice is never swallowed. Opening the exception is idempotent.
 */
export async function raiseContradictingNotices(
  pool: Pool,
  orderNo: string,
  nowMs = Date.now(),
): Promise<number> {
  const found = await findContradictingNotices(pool, orderNo);
  for (const notice of found) {
    const opened = await openNoticeException(pool, notice, nowMs);
    console.error(
      JSON.stringify({
        level: 'alert',
        msg: "ALERT: a verified gateway notice contradicts the order's final record; reconciliation exception opened",
        orderNo,
        notifyId: notice.notifyId,
        gatewaySays: notice.says,
        recorded: notice.recorded,
        runId: opened.runId,
        exceptionId: opened.exceptionId ?? null,
      }),
    );
  }
  return found.length;
}
