// Maker-checker at the edge (issue 16 item 2): an operator's money decision that needs a second
// operator is held as a pending approval (decisions/approvals.ts) instead of being carried out, and
// answered 202 PENDING_APPROVAL. Another key approves it through /v1/approvals
// (routes/approvals.ts), which carries it out as the requester's decision. The approval's own
// workflow (`approval-{id}`) and the workflow it is for (when that runs) show ApprovalState.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyRequest } from 'fastify';
import {
  readApproval,
  requestApprovalIn,
  samePendingApproval,
  type Approval,
  type ApprovalAction,
  type ApprovalStatus,
} from '../decisions/approvals';
import { inTransaction } from '../db/pool';
import { DEFAULT_CURRENCY } from '../ledger/currency';
import { formatAmount } from '../ledger/money';
import type { Queryable } from '../ledger/types';
import { workflowIds } from '../ids/workflow-ids';
import { approvalStateSignal } from '../workflows/contracts/approvals';
import type { AppContext } from './app';
import { actorOf } from './auth';

/** A handler's answer with its own status (a held decision's 202), not the route's 200. */
export class Replied {
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
  ) {}
}

export interface Hold {
  workflowId: string;
  action: ApprovalAction;
  /** Minor units, with `payload.currency` (the platform's currency when absent). */
  amountMinor?: bigint;
  /** Everything needed to carry the decision out once approved (api/approval-actions.ts). */
  payload: Record<string, unknown>;
  reason: string;
}

/**
 * How an approval is shown (API.md): `{id, workflowId, action, amount, requestedBy, since}`, and
 * the approval's own workflow.
 */
export function approvalView(a: Approval) {
  const currency = typeof a.payload.currency === 'string' ? a.payload.currency : DEFAULT_CURRENCY;
  return {
    id: a.id,
    workflowId: a.workflowId,
    approvalWorkflowId: workflowIds.approval(a.id),
    action: a.action,
    amount: a.amountMinor === undefined ? null : formatAmount(a.amountMinor, currency),
    requestedBy: a.requestedBy,
    since: a.since.toISOString(),
    reason: a.reason,
    status: a.status,
    ...(a.decidedBy ? { decidedBy: a.decidedBy } : {}),
  };
}

export const HELD_FIELDS = {
  workflowId: 'the workflow the decision is for',
  status: 'PENDING_APPROVAL',
  approval: 'the pending approval: {id, workflowId, action, amount, requestedBy, since}',
};

function heldBody(a: Approval) {
  return { workflowId: a.workflowId, status: 'PENDING_APPROVAL', approval: approvalView(a) };
}

/**
 * Holds the decision in the caller's transaction: a pending approval with its audit row, or the
 * one this key already asked for with the same decision (a retry without an Idempotency-Key).
 */
export async function holdIn(tx: Queryable, request: FastifyRequest, hold: Hold): Promise<Replied> {
  const requestedBy = actorOf(request.principal);
  // Two copies of one request at once are one approval.
  await tx.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('approval ' || $1 || ' ' || $2, 0))`,
    [requestedBy, hold.workflowId],
  );
  const same = await samePendingApproval(tx, { ...hold, requestedBy });
  const approval =
    same ??
    ((await readApproval(
      tx,
      await requestApprovalIn(tx, {
        ...hold,
        requestedBy,
        requestedHolder: request.principal.holder,
        requestId: request.id,
      }),
    )) as Approval);
  return new Replied(202, heldBody(approval));
}

/** Holds the decision (its own transaction) and shows it on the workflow: the 202. */
export async function holdForApproval(
  context: AppContext,
  request: FastifyRequest,
  hold: Hold,
): Promise<Replied> {
  const held = await inTransaction(context.pool, (tx) => holdIn(tx, request, hold));
  const { approval } = held.body as ReturnType<typeof heldBody>;
  await showApprovalState(context, request, hold.workflowId, approval.id, 'pending');
  return held;
}

/**
 * Tells the workflow (when it runs) what its ApprovalState is, now. Display only, so a failure is
 * logged, not the request's. The same state also went through the outbox with the transaction
 * (decisions/approval-announcements.ts): that copy survives a crash or a Temporal hiccup here;
 * this one is prompt, so the state lands before the Update that may end the workflow. Either may
 * arrive second: the workflow's handler takes a verdict once and a late "pending" as nothing.
 */
export async function showApprovalState(
  context: AppContext,
  request: FastifyRequest,
  workflowId: string,
  approvalId: string,
  status: ApprovalStatus,
): Promise<void> {
  if (!context.temporal) return;
  try {
    await context.temporal.workflow
      .getHandle(workflowId)
      .signal(approvalStateSignal, { approvalId, status });
  } catch (err) {
    // Not started yet (a payout run or a recovery that opens once approved) or ended: nothing to
    // show it on.
    if (err instanceof WorkflowNotFoundError) return;
    request.log.warn({ err, workflowId, approvalId }, 'ApprovalState not shown on the workflow');
  }
}
