// Operator decisions in tests, recorded as the API records them (decisions/operator-decisions.ts),
// then sent to the workflow by id: what a test sent as an Update's fields before issue 26.
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { Pool } from 'pg';
import type { ApprovalAction } from '../../decisions/approvals';
import { recordDecision, type DecisionKind } from '../../decisions/operator-decisions';
import { resolveReviewUpdate, type ReviewDecision } from '../../workflows/contracts/gateway-order';
import {
  resolveExceptionUpdate,
  type ExceptionAction,
} from '../../workflows/contracts/reconciliation';
import { requestCollectionUpdate, writeOffUpdate } from '../../workflows/contracts/recovery';
import { collectNowSignal } from '../../workflows/contracts/repayment';

const UPDATES = {
  'review.resolve': resolveReviewUpdate,
  'exception.resolve': resolveExceptionUpdate,
  'recovery.write_off': writeOffUpdate,
  'recovery.request_collection': requestCollectionUpdate,
} as const;

/**
 * Records the decision (actor `operator:<name>`) and returns the Update's argument. `needsApproval`
 * as the API's rule sets it (false: a paid at or below the threshold).
 */
export async function recorded(
  pool: Pool,
  workflowId: string,
  kind: DecisionKind,
  payload: Record<string, unknown>,
  reason: string,
  operator = 'test-op',
  requestId?: string,
  needsApproval?: boolean,
) {
  return {
    decisionId: await recordDecision(pool, {
      workflowId,
      kind,
      actor: `operator:${operator}`,
      payload,
      reason,
      requestId,
      needsApproval,
    }),
  };
}

/**
 * Records a decision that needs a second operator as an approval carries it out: the decision and
 * its approval, approved by another key, with the decision as its effect.
 */
export async function recordedApproved(
  pool: Pool,
  workflowId: string,
  kind: DecisionKind,
  action: ApprovalAction,
  payload: Record<string, unknown>,
  reason: string,
  operator = 'test-op',
) {
  const ref = await recorded(pool, workflowId, kind, payload, reason, operator, undefined, true);
  await pool.query(
    `INSERT INTO approvals (id, workflow_id, action, payload, reason, requested_by, status, decided_by,
       decided_at, effect_id)
     VALUES ($1, $2, $3, $4, $5, $6, 'approved', 'operator:test-checker', now(), $7)`,
    [
      `apr-${randomUUID()}`,
      workflowId,
      action,
      JSON.stringify(payload),
      reason,
      `operator:${operator}`,
      ref.decisionId,
    ],
  );
  return ref;
}

export async function resolveReview(
  pool: Pool,
  handle: WorkflowHandle,
  d: {
    decision: ReviewDecision;
    reason: string;
    resubmit?: boolean;
    operator?: string;
    requestId?: string;
  },
): Promise<string> {
  const ref = await recorded(
    pool,
    handle.workflowId,
    'review.resolve',
    { decision: d.decision, ...(d.resubmit ? { resubmit: true } : {}) },
    d.reason,
    d.operator,
    d.requestId,
    // As the API records a paid at or below the threshold: let through alone.
    d.decision === 'paid' ? false : undefined,
  );
  return handle.executeUpdate(UPDATES['review.resolve'], { args: [ref] });
}

export async function resolveException(
  pool: Pool,
  handle: WorkflowHandle,
  d: { exceptionId: string; action: ExceptionAction; reason: string; investorId?: string },
) {
  const payload = {
    exceptionId: d.exceptionId,
    action: d.action,
    ...(d.investorId ? { investorId: d.investorId } : {}),
  };
  // An adjust (or a recover) is taken only as an approval's effect.
  const ref =
    d.action === 'accept'
      ? await recorded(pool, handle.workflowId, 'exception.resolve', payload, d.reason)
      : await recordedApproved(
          pool,
          handle.workflowId,
          'exception.resolve',
          d.action === 'adjust' ? 'exception.adjust' : 'exception.recover',
          payload,
          d.reason,
        );
  return handle.executeUpdate(UPDATES['exception.resolve'], { args: [ref] });
}

/**
 * Collect now, as the API asks it (a recorded request); `signal` is the handle's signal or a
 * signal-with-start.
 */
export async function collectNow(
  pool: Pool,
  handle: WorkflowHandle,
  requester = 'test-op',
): Promise<void> {
  const ref = await recorded(
    pool,
    handle.workflowId,
    'repayment.collect_now',
    {},
    'collect now',
    requester,
  );
  await handle.signal(collectNowSignal, ref);
}
