// What Temporal is told about an approval, through the outbox in the transaction that records it
// (issue 16 item 2): a held approval starts its own workflow (`approval-{id}`, ApprovalState
// "Pending", a readable memo), and its verdict reaches that workflow durably. A target workflow
// that runs while its approval waits (a review, a recovery's write-off, a day's adjustment) shows
// ApprovalState too: display only, so a target that ended meanwhile drops the row.
import { workflowIds } from '../ids/workflow-ids';
import { DEFAULT_CURRENCY } from '../ledger/currency';
import { formatAmount } from '../ledger/money';
import type { Queryable } from '../ledger/types';
import { enqueueSignal, enqueueSignalWithStart, enqueueStart } from '../outbox/enqueue';
import { approvalStateSignal, type ApprovalWorkflowInput } from '../workflows/contracts/approvals';
import type { Approval, ApprovalAction, ApprovalStatus } from './approvals';

/**
 * The actions whose target workflow runs while the approval waits. A manual recovery or payout
 * run starts only once approved, and a bank-account change has no workflow: its approval's own
 * workflow is what shows.
 */
const SHOWN_ON_TARGET: ReadonlySet<ApprovalAction> = new Set([
  'review.paid',
  'recovery.write_off',
  'exception.adjust',
  'exception.recover',
]);

type Announced = Pick<
  Approval,
  'id' | 'workflowId' | 'action' | 'amountMinor' | 'payload' | 'requestedBy' | 'reason'
>;

/** The approval workflow's input: the same for the hold's start and the verdict's. */
export function approvalWorkflowInput(a: Announced): ApprovalWorkflowInput {
  const currency = typeof a.payload.currency === 'string' ? a.payload.currency : DEFAULT_CURRENCY;
  return {
    approvalId: a.id,
    action: a.action,
    targetWorkflowId: a.workflowId,
    ...(a.amountMinor !== undefined
      ? { amount: formatAmount(a.amountMinor, currency), currency }
      : {}),
    requestedBy: a.requestedBy,
    reason: a.reason,
  };
}

async function showOnTarget(tx: Queryable, a: Announced, status: ApprovalStatus): Promise<void> {
  if (!SHOWN_ON_TARGET.has(a.action)) return;
  await enqueueSignal(tx, a.workflowId, approvalStateSignal, [{ approvalId: a.id, status }], {
    dropIfClosed: true,
  });
}

/** In the holding transaction: the approval's workflow started, the target told "pending". */
export async function announceHeldIn(tx: Queryable, a: Announced): Promise<void> {
  await enqueueStart(tx, 'approvalWorkflow', workflowIds.approval(a.id), approvalWorkflowInput(a));
  await showOnTarget(tx, a, 'pending');
}

/**
 * In the deciding transaction: the verdict to the approval's workflow (starting it if its start
 * row is still queued) and to the target.
 */
export async function announceVerdictIn(
  tx: Queryable,
  a: Announced,
  status: 'approved' | 'rejected',
): Promise<void> {
  await enqueueSignalWithStart(
    tx,
    'approvalWorkflow',
    workflowIds.approval(a.id),
    approvalWorkflowInput(a),
    approvalStateSignal,
    [{ approvalId: a.id, status }],
  );
  await showOnTarget(tx, a, status);
}
