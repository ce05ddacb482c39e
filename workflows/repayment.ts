import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import {
  condition, getExternalWorkflowHandle, ParentClosePolicy, patched, proxyActivities, setHandler, sleep, startChild, upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RepaymentActivities } from '../activities/repayments';
import { GATEWAY_CALL_OPTIONS, LEDGER_WRITE_OPTIONS, OrderReview, settleGatewayOrder } from './gateway-order';
import { AWAIT_SETTLED_OPTIONS, payoutRunWorkflow } from './payout-run';
import {
  collectNowSignal, DEFAULT_QUERY_POLICY, installmentPaidOutSignal, repaymentStateQuery, SearchAttributes,
  type RepaymentState, type RepaymentWorkflowInput, type ResolveReviewInput,
} from './shared';
import { workflowIds } from '../ids/workflow-ids';
import { decisionGate, decisionRows } from './decision-gate';

const gateway = proxyActivities<RepaymentActivities>(GATEWAY_CALL_OPTIONS);
const db = proxyActivities<RepaymentActivities>({
  ...LEDGER_WRITE_OPTIONS,
  retry: { ...LEDGER_WRITE_OPTIONS.retry, nonRetryableErrorTypes: ['LedgerError', 'RepaymentError'] },
});
const poll = proxyActivities<RepaymentActivities>(AWAIT_SETTLED_OPTIONS);

/** Collections tried by the calendar (the due date, then a day apart); after that only when asked. */
export const SCHEDULED_COLLECTION_ATTEMPTS = 5;

/** How often the previous attempt's order is asked about before a new one, while the answer is not definite. */
const RECHECK_QUERIES = 3;

/**
 * Whether the gateway, asked again before a new order, says the previous attempt executed after
 * all: the listed failure it answered, or an operator's not_paid, was wrong. An answer that stays
 * not definite (after RECHECK_QUERIES tries) is no evidence of execution: the next order is made
 * as before.
 */
async function executedAfterAll(orderNo: string): Promise<boolean> {
  for (let i = 0; i < RECHECK_QUERIES; i++) {
    if (i > 0) await sleep(1_000 * 2 ** (i - 1));
    const answer = await gateway.queryRepaymentCollection(orderNo);
    if (answer.kind === 'succeeded') return true;
    if (answer.kind === 'failed' || answer.kind === 'not_found') return false;
  }
  return false;
}

/**
 * repayment-{loanId}-{n}: DUE → COLLECTING (from the borrower through the gateway, by the outcome
 * table) → COLLECTED → DISTRIBUTED (one ledger transaction, pro rata) → PAID_OUT (the payout run
 * has no payout in flight). A collection that fails past the due date makes it OVERDUE with the
 * late fee, and is tried again a day later, with a new order only once the gateway, asked again,
 * does not say the previous order executed (if it does, that order is the collection); an unknown
 * one waits in MANUAL_REVIEW.
 */
export async function repaymentWorkflow(input: RepaymentWorkflowInput): Promise<RepaymentState> {
  const { loanId, installment: n } = input;
  let state: RepaymentState = 'DUE';
  let collectNow = false;
  setHandler(repaymentStateQuery, () => state);
  setHandler(collectNowSignal, async (ref) => {
    // Only a request the API recorded (the borrower's or an operator's key) collects early.
    if (decisionRows() && !(await decisionGate().tryTake('repayment.collect_now', ref))) return;
    collectNow = true;
  });
  upsertSearchAttributes([{ key: SearchAttributes.LoanId, value: loanId }]);

  const terms = await db.openRepayment(loanId, n);
  const queryPolicy = input.queryPolicy ?? terms.queryPolicy;
  const dueAtMs = Date.parse(terms.dueAt);
  const untilDue = () => dueAtMs - Date.now();
  if (untilDue() > 0) await condition(() => collectNow, untilDue()); // the due date, or earlier when asked

  let previousOrder: string | undefined;
  for (let attempt = 1; ; attempt++) {
    collectNow = false;
    // A gateway that answered a listed failure for an order it executed (or an operator's wrong
    // not_paid) would otherwise have the borrower pay twice: the previous order is asked about first.
    if (previousOrder !== undefined && patched('recheck-previous-collection') && await executedAfterAll(previousOrder)) {
      await db.recordCollectionFoundExecuted(previousOrder);
      state = 'COLLECTED';
      break;
    }
    const order = await db.openCollection(loanId, n, attempt);
    previousOrder = order.orderNo;
    state = 'COLLECTING';
    const review = new OrderReview<RepaymentState>('COLLECTING', order.orderNo, 'MANUAL_REVIEW');
    const settled = await settleGatewayOrder({
      submit: () => gateway.submitRepaymentCollection(order.orderNo),
      query: () => gateway.queryRepaymentCollection(order.orderNo),
    }, queryPolicy ?? DEFAULT_QUERY_POLICY, review, 'COLLECTING');

    let resolution: ResolveReviewInput | undefined;
    if (settled === 'unknown') {
      state = 'MANUAL_REVIEW';
      resolution = await review.awaitDecision(() => db.setCollectionStatus(order.orderNo, 'MANUAL_REVIEW'));
      review.resolved(resolution.decision === 'paid' ? 'COLLECTED' : 'DUE');
    }
    if (settled === 'succeeded' || resolution?.decision === 'paid') {
      await db.recordCollection(order.orderNo, resolution);
      state = 'COLLECTED';
      break;
    }

    // Not collected. Past the due date the installment is OVERDUE and the late fee is charged (once).
    await db.setCollectionStatus(order.orderNo, 'FAILED', resolution);
    if (untilDue() <= 0) {
      await db.markOverdue(loanId, n);
      state = 'OVERDUE';
    } else {
      state = 'DUE';
    }
    if (attempt >= SCHEDULED_COLLECTION_ATTEMPTS) await condition(() => collectNow);
    else await condition(() => collectNow, untilDue() > 0 ? untilDue() : terms.dayMs);
  }

  await db.distributeRepayment(loanId, n);
  state = 'DISTRIBUTED';

  // The payout run may already have been started by an operator (POST /v1/payout-runs): then it is that one.
  try {
    await startChild(payoutRunWorkflow, {
      workflowId: workflowIds.payoutRun(loanId, n),
      args: [{ loanId, installment: n, queryPolicy, ...(input.payoutPaging ? { paging: input.payoutPaging } : {}) }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  await poll.awaitPayoutsSettled(loanId, n);
  await db.setInstallmentStatus(loanId, n, 'DISTRIBUTED', 'PAID_OUT');
  state = 'PAID_OUT';

  try {
    await getExternalWorkflowHandle(workflowIds.loan(loanId)).signal(installmentPaidOutSignal, n);
  } catch {
    // The loan's workflow is gone (finished before repayments existed): the installment's row says it all.
  }
  return state;
}
