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
  recovery: (recoveryId: string) => `recovery-${recoveryId}`,
} as const;

export type WorkflowKind = keyof typeof workflowIds;
