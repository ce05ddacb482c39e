import { scheduledPayoutIdPrefix } from './derived';
// Every workflow id, built here and nowhere else (DESIGN.md's table). Pure string functions with
// no Node imports: workflow code uses them too. A duplicate start with the same id is rejected by
// Temporal itself, so these are the platform's "exactly once" keys: never build one by hand.

export const workflowIds = {
  loan: (loanId: string) => `loan-${loanId}`,
  subscription: (subscriptionId: string) => `subscription-${subscriptionId}`,
  repayment: (loanId: string, installment: number) => `repayment-${loanId}-${installment}`,
  payoutRun: (loanId: string, installment: number) => `payout-run-${loanId}-${installment}`,
  payout: (payoutId: string) => `payout-${payoutId}`,
  deposit: (depositId: string) => `deposit-${depositId}`,
  reconciliation: (channel: string, date: string) => `recon-${channel}-${date}`,
  /** The daily Schedule's id, and the prefix of the runs it starts. */
  reconciliationSchedule: (channel: string) => `recon-daily-${channel}`,
  idempotencyPruneSchedule: () => 'idempotency-prune',
  recovery: (recoveryId: string) => `recovery-${recoveryId}`,
  /** One maker-checker approval's own workflow (workflows/approval.ts). */
  approval: (approvalId: string) => `approval-${approvalId}`,
} as const;

export type WorkflowKind = keyof typeof workflowIds;

/**
 * Prefixes of a loan's workflow ids, for Web UI searches (WorkflowId STARTS_WITH ...). The payouts'
 * prefix matches that loan's payouts only (a loan id with a dash takes the length-prefixed form,
 * so "payout-a-" cannot catch loan "a-1"'s). The repayments' prefix can also match a loan whose id
 * is this one followed by a dash and more: a search scope, never a key.
 */
export const workflowIdPrefixes = {
  scheduledPayouts: (loanId: string) => workflowIds.payout(scheduledPayoutIdPrefix(loanId)),
  repayments: (loanId: string) => `repayment-${loanId}-`,
} as const;
