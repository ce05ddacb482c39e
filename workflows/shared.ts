// Names shared by workflows, the worker, the API and tests, without importing workflow code.
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
} as const;
