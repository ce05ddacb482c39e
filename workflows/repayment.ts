import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  type WithWorkflowArgs,
} from '@temporalio/common';
import {
  condition,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  type ChildWorkflowOptions,
} from '@temporalio/workflow';
import type { RepaymentActivities } from '../activities/repayments';
import {
  ASK_BEFORE_REPLACING_PATCH,
  executedAfterAll,
  OrderReview,
  settleGatewayOrder,
  type Settled,
} from './gateway-order';
import { payoutRunWorkflow } from './payout-run';
import { SearchAttributes } from './contracts/common';
import {
  DEFAULT_QUERY_POLICY,
  type QueryPolicy,
  type ResolveReviewInput,
} from './contracts/gateway-order';
import { installmentPaidOutSignal } from './contracts/loan';
import {
  collectNowSignal,
  repaymentStateQuery,
  type RepaymentState,
  type RepaymentWorkflowInput,
} from './contracts/repayment';
import { workflowIds } from '../ids/workflow-ids';
import { decisionGate, partyDecisionRows } from './decision-gate';
import {
  AWAIT_SETTLED_OPTIONS,
  GATEWAY_CALL_OPTIONS,
  REPAYMENT_WRITE_OPTIONS,
} from './retry-policies';

/** startChild's options for a workflow function (it takes no typeInfo of its own). */
type ChildOptions = Omit<ChildWorkflowOptions, 'typeInfo'>;

const gateway = proxyActivities<RepaymentActivities>(GATEWAY_CALL_OPTIONS);
const db = proxyActivities<RepaymentActivities>(REPAYMENT_WRITE_OPTIONS);
const poll = proxyActivities<RepaymentActivities>(AWAIT_SETTLED_OPTIONS);

/**
 * Collections tried by the calendar (the due date, then a day apart); after that only when asked.
 */
export const SCHEDULED_COLLECTION_ATTEMPTS = 5;

/**
 * Registers the collectNow signal: only a request the API recorded (the borrower's or an
 * operator's key) collects early; `request` marks it for the main loop.
 */
function handleCollectNow(request: () => void): void {
  setHandler(collectNowSignal, async (ref) => {
    if (partyDecisionRows() && !(await decisionGate().tryTake('repayment.collect_now', ref)))
      return;
    request();
  });
}

/**
 * One attempt's order through the gateway outcome table. Not async, like askedAgain: the caller
 * awaits settleGatewayOrder's own promise, so the workflow's steps interleave as they did inline.
 */
function settleCollection(
  orderNo: string,
  queryPolicy: QueryPolicy | undefined,
  review: OrderReview<RepaymentState>,
): Promise<Settled> {
  return settleGatewayOrder(
    {
      submit: () => gateway.submitRepaymentCollection(orderNo),
      query: () => gateway.queryRepaymentCollection(orderNo),
    },
    queryPolicy ?? DEFAULT_QUERY_POLICY,
    review,
    'COLLECTING',
  );
}

/** Whether the failed order `last`, asked about again, was executed after all. */
function askedAgain(last: FailedOrder): Promise<boolean> {
  return executedAfterAll(last.review, () => gateway.queryRepaymentCollection(last.orderNo));
}

/** The last attempt's order, once it ended as not collected. */
interface FailedOrder {
  orderNo: string;
  review: OrderReview<RepaymentState>;
}

/** The installment's payout run: an abandoned child, under the run's deterministic id. */
function payoutRunOptions(
  input: RepaymentWorkflowInput,
  queryPolicy: QueryPolicy | undefined,
): WithWorkflowArgs<typeof payoutRunWorkflow, ChildOptions> {
  const { loanId, installment: n } = input;
  return {
    workflowId: workflowIds.payoutRun(loanId, n),
    args: [
      {
        loanId,
        installment: n,
        queryPolicy,
        ...(input.payoutPaging ? { paging: input.payoutPaging } : {}),
      },
    ],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  };
}

/** Histories from before it waited in no state an operator could find (chaos seed 201). */
export const FINDABLE_EXHAUSTED_PATCH = 'exhausted-collections-findable';

/**
 * The scheduled collections are used up: the installment waits for an operator's or the
 * borrower's collect-now, findable meanwhile as `CollectionState = 'Exhausted'`.
 */
async function awaitCollectNow(asked: () => boolean): Promise<void> {
  const findable = patched(FINDABLE_EXHAUSTED_PATCH);
  if (findable)
    upsertSearchAttributes([{ key: SearchAttributes.CollectionState, value: 'Exhausted' }]);
  await condition(asked);
  if (findable)
    upsertSearchAttributes([{ key: SearchAttributes.CollectionState, value: 'Resumed' }]);
}

/**
 * repayment-{loanId}-{n}: DUE → COLLECTING (from the borrower through the gateway, by the outcome
 * table) → COLLECTED → DISTRIBUTED (one ledger transaction, pro rata) → PAID_OUT (the payout run
 * has no payout in flight). A collection that fails past the due date makes it OVERDUE with the
 * late fee, and is tried again a day later; an unknown one waits in MANUAL_REVIEW. Before the next
 * attempt's new order, the failed one is asked about again: executed after all (a lie), it is the
 * collection, and the late fee its failure charged is taken back.
 */
export async function repaymentWorkflow(input: RepaymentWorkflowInput): Promise<RepaymentState> {
  const { loanId, installment: n } = input;
  let state: RepaymentState = 'DUE';
  let collectNow = false;
  setHandler(repaymentStateQuery, () => state);
  handleCollectNow(() => {
    collectNow = true;
  });
  upsertSearchAttributes([{ key: SearchAttributes.LoanId, value: loanId }]);

  const terms = await db.openRepayment(loanId, n);
  const queryPolicy = input.queryPolicy ?? terms.queryPolicy;
  const dueAtMs = Date.parse(terms.dueAt);
  const untilDue = () => dueAtMs - Date.now();
  // the due date, or earlier when asked
  if (untilDue() > 0) await condition(() => collectNow, untilDue());

  // The last attempt's order, once it ended as not collected: asked about before a new one replaces
  // it.
  let failed: FailedOrder | undefined;
  for (let attempt = 1; ; attempt++) {
    collectNow = false;
    // A definitive failure may have been a lie (the gateway executed it): a new order would collect
    // the installment twice. Asked now, the gateway says SUCCESS: that attempt collected it.
    if (failed && patched(ASK_BEFORE_REPLACING_PATCH)) {
      const last = failed;
      if (await askedAgain(last)) {
        await db.recordFoundCollection(last.orderNo);
        state = 'COLLECTED';
        break;
      }
    }
    const order = await db.openCollection(loanId, n, attempt);
    state = 'COLLECTING';
    const review = new OrderReview<RepaymentState>('COLLECTING', order.orderNo, 'MANUAL_REVIEW');
    const settled = await settleCollection(order.orderNo, queryPolicy, review);

    let resolution: ResolveReviewInput | undefined;
    if (settled === 'unknown') {
      state = 'MANUAL_REVIEW';
      resolution = await review.awaitDecision(() =>
        db.setCollectionStatus(order.orderNo, 'MANUAL_REVIEW'),
      );
      review.resolved(resolution.decision === 'paid' ? 'COLLECTED' : 'DUE');
    }
    if (settled === 'succeeded' || resolution?.decision === 'paid') {
      await db.recordCollection(order.orderNo, resolution);
      state = 'COLLECTED';
      break;
    }

    // Not collected. Past the due date the installment is OVERDUE and the late fee is charged
    // (once).
    await db.setCollectionStatus(order.orderNo, 'FAILED', resolution);
    failed = { orderNo: order.orderNo, review };
    if (untilDue() <= 0) {
      await db.markOverdue(loanId, n);
      state = 'OVERDUE';
    } else {
      state = 'DUE';
    }
    if (attempt >= SCHEDULED_COLLECTION_ATTEMPTS) await awaitCollectNow(() => collectNow);
    else await condition(() => collectNow, untilDue() > 0 ? untilDue() : terms.dayMs);
  }

  await db.distributeRepayment(loanId, n);
  state = 'DISTRIBUTED';

  // The payout run may already have been started by an operator (POST /v1/payout-runs): then it is
  // that one.
  try {
    await startChild(payoutRunWorkflow, payoutRunOptions(input, queryPolicy));
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  await poll.awaitPayoutsSettled(loanId, n);
  await db.setInstallmentStatus(loanId, n, 'DISTRIBUTED', 'PAID_OUT');
  state = 'PAID_OUT';

  try {
    await getExternalWorkflowHandle(workflowIds.loan(loanId)).signal(installmentPaidOutSignal, n);
  } catch {
    // The loan's workflow is gone (finished before repayments existed): the installment's row says
    // it all.
  }
  return state;
}
