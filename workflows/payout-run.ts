import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import {
  continueAsNew,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { DECISION_ROWS_PATCH, DecisionGate, refuse } from './decision-gate';
import type { RepaymentActivities } from '../activities/repayments';
import { payoutWorkflow } from './payout';
import { SearchAttributes } from './contracts/common';
import type { QueryPolicy } from './contracts/gateway-order';
import {
  payoutRunStateQuery,
  type PayoutRunInput,
  type PayoutRunResult,
  type PayoutRunState,
} from './contracts/payout-run';
import { workflowIds } from '../ids/workflow-ids';
import { AWAIT_SETTLED_OPTIONS, LEDGER_WRITE_OPTIONS } from './retry-policies';

const db = proxyActivities<RepaymentActivities>(LEDGER_WRITE_OPTIONS);
/** Polls Postgres by retrying: one activity in the history however long the payouts take. */
const poll = proxyActivities<RepaymentActivities>(AWAIT_SETTLED_OPTIONS);

/** Investors per page; a page's payouts are started together. */
const PAGE_SIZE = 100;
/**
 * Pages per execution before continue-as-new: about 3 events per payout keeps each history near
 * 1,000.
 */
const PAGES_PER_EXECUTION = 3;

/**
 * Starts a scheduled payout as an abandoned child: it lives on if the run continues as new. Its id
 * is the payout's own, never reused: a payout another run (or this one, before a crash) started
 * is left to that workflow.
 */
export async function startScheduledPayout(
  payoutId: string,
  partyId: string,
  queryPolicy: QueryPolicy | undefined,
): Promise<void> {
  try {
    await startChild(payoutWorkflow, {
      workflowId: workflowIds.payout(payoutId),
      args: [{ payoutId, partyId, queryPolicy }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/**
 * payout-run-{loanId}-{n}: pays every investor's share of installment n, interest and principal
 * each its own Payout workflow with a deterministic id, in pages, continuing as new so its history
 * stays bounded; then waits until no payout is in flight. Two runs for the same installment
 * (a repeat, or an interest run and a maturity run at the same moment) pay each investor once.
 */
export async function payoutRunWorkflow(input: PayoutRunInput): Promise<PayoutRunResult> {
  let state: PayoutRunState = 'FANNING_OUT';
  let started = input.started ?? 0;
  let skipped = input.skipped ?? 0;
  let after = input.after ?? '';
  setHandler(payoutRunStateQuery, () => ({ state, started, skipped }));
  upsertSearchAttributes([{ key: SearchAttributes.LoanId, value: input.loanId }]);
  // A run its repayment starts (a child) or one continued as new goes on; one started by anyone
  // else pays nobody without an operator's recorded decision for it (histories from before: no
  // check).
  const info = workflowInfo();
  if (patched(DECISION_ROWS_PATCH) && !info.parent && !info.continuedFromExecutionRunId) {
    const taken = await new DecisionGate().take('payout_run.start', input);
    if (taken.payload.loanId !== input.loanId || taken.payload.installment !== input.installment)
      refuse(`decision ${taken.decisionId} is for another installment`);
  }

  for (let page = 0; ; page++) {
    if (page === (input.paging?.pagesPerExecution ?? PAGES_PER_EXECUTION)) {
      await continueAsNew<typeof payoutRunWorkflow>({ ...input, after, started, skipped });
    }
    const p = await db.preparePayoutPage(
      input.loanId,
      input.installment,
      after,
      input.paging?.pageSize ?? PAGE_SIZE,
    );
    await Promise.all(
      p.payouts.map((payout) =>
        startScheduledPayout(payout.payoutId, payout.partyId, input.queryPolicy ?? p.queryPolicy),
      ),
    );
    started += p.payouts.length;
    skipped += p.skipped;
    if (p.next === null) break;
    after = p.next;
  }

  await db.markFannedOut(input.loanId, input.installment);
  state = 'AWAITING';
  const summary = await poll.awaitPayoutsSettled(input.loanId, input.installment);
  state = 'DONE';
  return {
    payouts: summary.payouts,
    succeeded: summary.succeeded,
    failed: summary.failed,
    manualReview: summary.manualReview,
    paidMinor: summary.paidMinor,
    skipped,
  };
}
