// One approval's own workflow (maker-checker, issue 16 item 2): it waits in ApprovalState
// "Pending" with a readable memo until the verdict (the approvalState signal, sent through the
// outbox by the deciding transaction), then shows it and ends. Display only: the decision itself
// is carried out by the approving transaction (api/approval-actions.ts). Two workflow tasks.
import { condition, setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import {
  approvalStateSignal,
  type ApprovalVerdict,
  type ApprovalWorkflowInput,
} from './contracts/approvals';
import { SearchAttributes } from './contracts/common';

const SHOWN: Record<ApprovalVerdict | 'pending', string> = {
  pending: 'Pending',
  approved: 'Approved',
  rejected: 'Rejected',
};

export async function approvalWorkflow(input: ApprovalWorkflowInput): Promise<ApprovalVerdict> {
  let verdict: ApprovalVerdict | undefined;
  setHandler(approvalStateSignal, ({ approvalId, status }) => {
    // Another approval's signal, or its own "pending", changes nothing; the first verdict is final.
    if (approvalId !== input.approvalId || status === 'pending') return;
    verdict ??= status;
  });
  upsertMemo({
    action: input.action,
    workflowId: input.targetWorkflowId,
    ...(input.amount !== undefined
      ? { amount: `${input.amount} ${input.currency ?? ''}`.trim() }
      : {}),
    requestedBy: input.requestedBy,
    reason: input.reason,
  });
  upsertSearchAttributes([{ key: SearchAttributes.ApprovalState, value: SHOWN.pending }]);
  await condition(() => verdict !== undefined);
  const final = verdict as ApprovalVerdict;
  upsertSearchAttributes([{ key: SearchAttributes.ApprovalState, value: SHOWN[final] }]);
  return final;
}
