// The maker-checker message every workflow an approval can wait on takes (decisions/approvals.ts).
// Plain names only (no workflow code): workflows, the API and tests import them.
import { defineSignal } from '@temporalio/workflow';
import type { ApprovalStatus } from '../../decisions/approvals';

/**
 * A workflow is told that an approval for it was requested or decided: what it shows as its
 * ApprovalState search attribute. Sent through the outbox with the transaction that records it
 * (and promptly by the API after the commit); to an approval's own workflow, the verdict it ends
 * on. Display only: the decision itself reaches its workflow as an operator decision, recorded
 * when the approval is approved.
 */
export interface ApprovalStateChange {
  approvalId: string;
  status: ApprovalStatus;
}

export const approvalStateSignal = defineSignal<[ApprovalStateChange]>('approvalState');

/**
 * One approval's own workflow (`approval-{approvalId}`, workflows/approval.ts): what an operator
 * reads in its memo. Started in the transaction that holds the approval, so even a decision whose
 * target starts only once approved (a manual recovery, a manual payout run) shows in the Web UI.
 */
export interface ApprovalWorkflowInput {
  approvalId: string;
  action: string;
  /** The workflow the held decision is for (it may start only once approved). */
  targetWorkflowId: string;
  /** A decimal string in `currency`, when the action names one amount. */
  amount?: string;
  currency?: string;
  requestedBy: string;
  reason: string;
}

/** How an approval's workflow ended. */
export type ApprovalVerdict = 'approved' | 'rejected';
