// The maker-checker message every workflow an approval can wait on takes (decisions/approvals.ts).
// Plain names only (no workflow code): workflows, the API and tests import them.
import { defineSignal } from '@temporalio/workflow';
import type { ApprovalStatus } from '../../decisions/approvals';

/**
 * The API tells a workflow that an approval for it was requested or decided: what the workflow
 * shows as its ApprovalState search attribute. Display only: the decision itself reaches the
 * workflow as an operator decision, recorded when the approval is approved.
 */
export interface ApprovalStateChange {
  approvalId: string;
  status: ApprovalStatus;
}

export const approvalStateSignal = defineSignal<[ApprovalStateChange]>('approvalState');
