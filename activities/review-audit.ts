// An operator's review decision and its effect commit together: the effect (post, void, credit,
// status) and the audit row run in one Postgres transaction.
import type { Pool, PoolClient } from 'pg';
import { writeAudit } from '../db/audit';
import { activityAuditKey } from './audit-key';
import { inTransaction } from '../db/pool';
import { raiseContradictingNotices } from '../reconciliation/notice-exception';
import type { ResolveReviewInput } from '../workflows/contracts/gateway-order';

/**
 * Runs an order's status change with its audit row in one transaction. Given the order's number,
 * then checks the verified notices stored for it against the record just committed: one that
 * arrived while a decision was being written is raised at once
 * (reconciliation/notice-exception.ts).
 */
export async function withReviewAudit<T>(
  pool: Pool,
  workflowId: string,
  resolution: ResolveReviewInput | undefined,
  effect: (tx: PoolClient) => Promise<T>,
  orderNo?: string,
): Promise<T> {
  const result = await inTransaction(pool, async (tx) => {
    const result = await effect(tx);
    if (resolution) {
      await writeAudit(tx, {
        actor: resolution.operator,
        action: 'review.resolved',
        subject: workflowId,
        reason: resolution.reason,
        requestId: resolution.requestId,
        details: {
          decision: resolution.decision,
          ...(resolution.notifyId ? { notifyId: resolution.notifyId } : {}),
          ...(resolution.resubmit ? { resubmit: true } : {}),
        },
        idempotencyKey: activityAuditKey('review.resolved'),
      });
    }
    return result;
  });
  if (orderNo !== undefined) await raiseContradictingNotices(pool, orderNo);
  return result;
}

/**
 * What the ledger transaction records of who decided: a person, the gateway's notice, or the
 * gateway's answer.
 */
export function reviewEvidence(resolution: ResolveReviewInput | undefined): Record<string, string> {
  if (!resolution) return { verifiedBy: 'gateway' };
  return {
    decidedBy: resolution.operator,
    reason: resolution.reason,
    decision: resolution.decision,
    ...(resolution.notifyId ? { notifyId: resolution.notifyId } : {}),
  };
}
