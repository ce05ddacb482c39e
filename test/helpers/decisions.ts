// Operator decisions in tests, recorded as the API records them (decisions/operator-decisions.ts),
// then sent to the workflow by id: what a test sent as an Update's fields before issue 26.
import type { WorkflowHandle } from '@temporalio/client';
import type { Pool } from 'pg';
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

/** Records the decision (actor `operator:<name>`) and returns the Update's argument. */
export async function recorded(
  pool: Pool,
  workflowId: string,
  kind: DecisionKind,
  payload: Record<string, unknown>,
  reason: string,
  operator = 'test-op',
  requestId?: string,
) {
  return {
    decisionId: await recordDecision(pool, {
      workflowId,
      kind,
      actor: `operator:${operator}`,
      payload,
      reason,
      requestId,
    }),
  };
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
  );
  return handle.executeUpdate(UPDATES['review.resolve'], { args: [ref] });
}

export async function resolveException(
  pool: Pool,
  handle: WorkflowHandle,
  d: { exceptionId: string; action: ExceptionAction; reason: string; investorId?: string },
) {
  const ref = await recorded(
    pool,
    handle.workflowId,
    'exception.resolve',
    {
      exceptionId: d.exceptionId,
      action: d.action,
      ...(d.investorId ? { investorId: d.investorId } : {}),
    },
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
