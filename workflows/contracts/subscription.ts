// The Subscription workflow's messages: its input, state, the loan's decision and the investor's
// cancel. Plain names only (no workflow code): workflows, activities, the API and tests import
// them.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DecisionRef } from '../../decisions/operator-decisions';

export type SubscriptionState = 'RESERVED' | 'CONFIRMED' | 'REFUNDED' | 'CANCELLED';

export type LoanDecision = 'funded' | 'expired';

export interface SubscriptionWorkflowInput {
  subscriptionId: string;
  loanId: string;
  investorId: string;
}

/** The loan's decision, sent to each of its subscriptions. */
export const loanDecidedSignal = defineSignal<[LoanDecision]>('loanDecided');

/**
 * The investor takes the reservation back (POST /v1/subscriptions/{id}/cancel); refused once the
 * loan has decided.
 */
/**
 * The investor's cancel, recorded by the API: the Signal names the decision (none in histories from
 * before).
 */
export const cancelSubscriptionSignal = defineSignal<[DecisionRef?]>('cancelSubscription');

export const subscriptionStateQuery = defineQuery<SubscriptionState>('subscriptionState');
