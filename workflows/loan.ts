import { condition, ParentClosePolicy, patched, proxyActivities, setHandler, startChild, upsertSearchAttributes } from '@temporalio/workflow';
import type { LoanActivities } from '../activities/loans';
import { payoutWorkflow } from './payout';
import { loanFullyReservedSignal, loanStateQuery, SearchAttributes, type LoanState, type LoanWorkflowInput } from './shared';

const db = proxyActivities<LoanActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['LedgerError'] },
});
const longRunning = proxyActivities<LoanActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const waitForRefunds = proxyActivities<LoanActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 1.5, maximumInterval: '30 seconds' }, // polls until all are settled
});

/**
 * loan-{loanId}: OPEN until fully reserved or the deadline; then FUNDED → DISBURSED → REPAYING,
 * or EXPIRED with every reservation refunded. Reservations live in Postgres, not in this
 * history: it stays the same size however many investors subscribe.
 */
export async function loanWorkflow(input: LoanWorkflowInput): Promise<LoanState> {
  let state: LoanState = 'OPEN';
  let fullyReserved = false;
  setHandler(loanStateQuery, () => state);
  setHandler(loanFullyReservedSignal, () => {
    fullyReserved = true;
  });
  upsertSearchAttributes([{ key: SearchAttributes.LoanId, value: input.loanId }]);

  // OPEN
  const terms = await db.getLoanTerms(input.loanId);
  const deadlineMs = Date.parse(terms.subscriptionDeadline);
  let decided = await db.decideLoan(input.loanId, Date.now() >= deadlineMs);
  while (decided === 'OPEN') {
    const leftMs = deadlineMs - Date.now();
    if (leftMs > 0) await condition(() => fullyReserved, leftMs);
    fullyReserved = false;
    decided = await db.decideLoan(input.loanId, Date.now() >= deadlineMs);
  }

  if (decided === 'EXPIRED') {
    state = 'EXPIRED';
    await longRunning.notifySubscriptions(input.loanId, 'expired');
    await waitForRefunds.assertNoneReserved(input.loanId);
    return state;
  }

  // FUNDED: escrow receives every reservation, then the subscriptions learn it.
  state = 'FUNDED';
  await longRunning.confirmSubscriptions(input.loanId);
  await longRunning.notifySubscriptions(input.loanId, 'funded');

  // DISBURSED: escrow to the borrower, less the platform fee, then out to their bank account.
  const disbursed = await db.disburse(input.loanId);
  if (patched('disbursement-payout')) {
    const payoutId = await db.requestDisbursementPayout(input.loanId, disbursed.netMinor);
    if (payoutId) {
      // Its own workflow with the outcome table; the loan goes on to repayments meanwhile.
      await startChild(payoutWorkflow, {
        workflowId: `payout-${payoutId}`,
        args: [{ payoutId, partyId: terms.borrowerId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    }
  }
  state = 'DISBURSED';

  // REPAYING: installments are collected by repayment workflows (their own issue).
  await db.setLoanStatus(input.loanId, 'DISBURSED', 'REPAYING');
  state = 'REPAYING';
  return state;
}
