// The Repayment workflow's messages.
// Plain names only (no workflow code): workflows, activities, the API and tests import them.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DecisionRef } from '../../decisions/operator-decisions';
import type { QueryPolicy } from './gateway-order';
import type { PayoutPaging } from './payout-run';

export type RepaymentState =
  'DUE' | 'COLLECTING' | 'OVERDUE' | 'MANUAL_REVIEW' | 'COLLECTED' | 'DISTRIBUTED' | 'PAID_OUT';

export interface RepaymentWorkflowInput {
  loanId: string;
  installment: number;
  /** For the collection's unknown outcomes, and handed to the payout run's payouts. */
  queryPolicy?: QueryPolicy;
  /** Handed to the payout run (tests: small pages, to see it continue as new). */
  payoutPaging?: PayoutPaging;
}

/** Collect now: before the due date, or again at once when overdue (POST .../repayments). */
export const collectNowSignal = defineSignal<[DecisionRef?]>('collectNow');

export const repaymentStateQuery = defineQuery<RepaymentState>('repaymentState');
