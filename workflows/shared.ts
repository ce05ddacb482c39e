// Names shared by workflows, the worker, the API and tests, without importing workflow code.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

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

// ---- Loans and subscriptions -------------------------------------------------------------

export type LoanState = 'OPEN' | 'FUNDED' | 'DISBURSED' | 'REPAYING' | 'CLOSED' | 'EXPIRED' | 'DEFAULTED';
export type SubscriptionState = 'RESERVED' | 'CONFIRMED' | 'REFUNDED' | 'CANCELLED';
export type LoanDecision = 'funded' | 'expired';

export interface LoanWorkflowInput {
  loanId: string;
}

export interface SubscriptionWorkflowInput {
  subscriptionId: string;
  loanId: string;
  investorId: string;
}

/** Sent (through the outbox) when the last amount of a loan is reserved. */
export const loanFullyReservedSignal = defineSignal('loanFullyReserved');
/** The loan's decision, sent to each of its subscriptions. */
export const loanDecidedSignal = defineSignal<[LoanDecision]>('loanDecided');
export const loanStateQuery = defineQuery<LoanState>('loanState');
export const subscriptionStateQuery = defineQuery<SubscriptionState>('subscriptionState');
