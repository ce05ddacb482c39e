import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import {
  condition,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { LoanActivities } from '../activities/loans';
import { payoutWorkflow } from './payout';
import { repaymentWorkflow } from './repayment';
import { SearchAttributes } from './contracts/common';
import {
  installmentPaidOutSignal,
  loanFullyReservedSignal,
  loanStateQuery,
  type LoanState,
  type LoanWorkflowInput,
} from './contracts/loan';
import { workflowIds } from '../ids/workflow-ids';
import {
  LOAN_LONG_RUNNING_OPTIONS,
  LOAN_WRITE_OPTIONS,
  WAIT_FOR_REFUNDS_OPTIONS,
} from './retry-policies';

const db = proxyActivities<LoanActivities>(LOAN_WRITE_OPTIONS);
const longRunning = proxyActivities<LoanActivities>(LOAN_LONG_RUNNING_OPTIONS);
const waitForRefunds = proxyActivities<LoanActivities>(WAIT_FOR_REFUNDS_OPTIONS);

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
        workflowId: workflowIds.payout(payoutId),
        args: [{ payoutId, partyId: terms.borrowerId, queryPolicy: terms.queryPolicy }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    }
  }
  state = 'DISBURSED';

  await db.setLoanStatus(input.loanId, 'DISBURSED', 'REPAYING');
  state = 'REPAYING';
  if (patched('repayment-schedule')) {
    // REPAYING: each installment's Repayment workflow starts at its due date (or earlier, by the
    // API); the loan is CLOSED when every one is paid out.
    const paidOut = new Set<number>();
    setHandler(installmentPaidOutSignal, (n) => {
      paidOut.add(n);
    });
    const schedule = await db.getRepaymentSchedule(input.loanId);
    for (const installment of schedule) {
      const untilDue = Date.parse(installment.dueDate) - Date.now();
      if (untilDue > 0) await sleep(untilDue);
      await startRepayment(input.loanId, installment.n);
    }
    await condition(() => schedule.every((i) => paidOut.has(i.n)));
    await db.setLoanStatus(input.loanId, 'REPAYING', 'CLOSED');
    state = 'CLOSED';
  }
  return state;
}

async function startRepayment(loanId: string, n: number): Promise<void> {
  try {
    await startChild(repaymentWorkflow, {
      workflowId: workflowIds.repayment(loanId, n),
      args: [{ loanId, installment: n }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (err) {
    // Started earlier by the API (the borrower repaid before the due date): that one counts.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
