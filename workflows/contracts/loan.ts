// The Loan workflow's messages: its input, state and the signals it receives.
// Plain names only (no workflow code): workflows, activities, the API and tests import them.
import { defineQuery, defineSignal } from '@temporalio/workflow';

export type LoanState =
  'OPEN' | 'FUNDED' | 'DISBURSED' | 'REPAYING' | 'CLOSED' | 'EXPIRED' | 'DEFAULTED';

export interface LoanWorkflowInput {
  loanId: string;
}

/** Sent (through the outbox) when the last amount of a loan is reserved. */
export const loanFullyReservedSignal = defineSignal('loanFullyReserved');

export const loanStateQuery = defineQuery<LoanState>('loanState');

/** From a Repayment workflow to its loan's: installment n is paid out. */
export const installmentPaidOutSignal = defineSignal<[number]>('installmentPaidOut');
