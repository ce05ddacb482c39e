// The Payout run workflow's messages.
// Plain names only (no workflow code): workflows, activities, the API and tests import them.
import { defineQuery } from '@temporalio/workflow';
import type { QueryPolicy } from './gateway-order';

/** How a payout run pages through the investors; the defaults suit production. */
export interface PayoutPaging {
  /** Investors per page. */
  pageSize: number;
  /** Pages per execution before continue-as-new. */
  pagesPerExecution: number;
}

export type PayoutRunState = 'FANNING_OUT' | 'AWAITING' | 'DONE';

export interface PayoutRunInput {
  loanId: string;
  installment: number;
  queryPolicy?: QueryPolicy;
  paging?: PayoutPaging;
  /**
   * Started by hand: the operator decision the API recorded (a run its repayment starts has none).
   */
  decisionId?: string;
  /**
   * Carried across continue-as-new: the last investor whose payouts were started, and the counts so
   * far.
   */
  after?: string;
  started?: number;
  skipped?: number;
}

export interface PayoutRunResult {
  payouts: number;
  succeeded: number;
  failed: number;
  manualReview: number;
  paidMinor: string;
  /**
   * Shares with nothing to send (no bank account on file, or already spent): the money stays in the
   * investor's balance.
   */
  skipped: number;
}

export const payoutRunStateQuery = defineQuery<{
  state: PayoutRunState;
  started: number;
  skipped: number;
}>('payoutRunState');
