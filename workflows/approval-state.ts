// ApprovalState in the Web UI: "Pending" while any approval for this workflow waits for a second
// operator, then the last verdict ("Approved" or "Rejected"). Set from the API's approvalState
// signal; a handler with no commands until a signal arrives, so older histories replay unchanged.
import { setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { ApprovalStatus } from '../decisions/approvals';
import { approvalStateSignal } from './contracts/approvals';
import { SearchAttributes } from './contracts/common';

const SEARCH_VALUE: Record<ApprovalStatus, string> = {
  pending: 'Pending',
  approved: 'Approved',
  rejected: 'Rejected',
};

/**
 * One set of approvals per workflow execution (module state is the execution's own), however
 * many places register the handler.
 */
let approvals: Map<string, ApprovalStatus> | undefined;

export function showApprovals(): void {
  if (approvals) return;
  const known = (approvals = new Map());
  setHandler(approvalStateSignal, ({ approvalId, status }) => {
    // A request's signal overtaken by its verdict's changes nothing: a verdict is final.
    if (status === 'pending' && known.has(approvalId)) return;
    known.set(approvalId, status);
    const waiting = [...known.values()].includes('pending');
    upsertSearchAttributes([
      { key: SearchAttributes.ApprovalState, value: SEARCH_VALUE[waiting ? 'pending' : status] },
    ]);
  });
}
