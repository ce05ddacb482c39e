// The task queue and the search attributes every workflow and client shares.
// Plain names only (no workflow code): workflows, activities, the API and tests import them.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TASK_QUEUE = 'lending-core';

/** Custom search attributes, registered on the dev server by scripts/stack.sh. */
export const SearchAttributes = {
  ReviewState: defineSearchAttributeKey('ReviewState', SearchAttributeType.KEYWORD),
  LoanId: defineSearchAttributeKey('LoanId', SearchAttributeType.KEYWORD),
  InvestorId: defineSearchAttributeKey('InvestorId', SearchAttributeType.KEYWORD),
  PayoutStatus: defineSearchAttributeKey('PayoutStatus', SearchAttributeType.KEYWORD),
  ReconState: defineSearchAttributeKey('ReconState', SearchAttributeType.KEYWORD),
  RecoveryState: defineSearchAttributeKey('RecoveryState', SearchAttributeType.KEYWORD),
  /** `Exhausted`: an installment's scheduled collections all failed; it waits for collect-now. */
  CollectionState: defineSearchAttributeKey('CollectionState', SearchAttributeType.KEYWORD),
  /** A money decision waiting for a second operator (decisions/approvals.ts): "Pending". */
  ApprovalState: defineSearchAttributeKey('ApprovalState', SearchAttributeType.KEYWORD),
  /** A new order held back by the emergency stop (workflows/gateway-pause.ts): "Paused". */
  GatewayPause: defineSearchAttributeKey('GatewayPause', SearchAttributeType.KEYWORD),
} as const;
