import {
  condition,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowOptions,
} from '@temporalio/workflow';
import type { WithWorkflowArgs } from '@temporalio/common';
import type { ReconciliationActivities } from '../activities/reconciliation';
import type { TakenDecision } from '../decisions/operator-decisions';
import { SearchAttributes } from './contracts/common';
import {
  rematchSignal,
  reconSummaryQuery,
  resolveExceptionUpdate,
  type ExceptionAction,
  type ReconciliationInput,
  type ReconState,
  type ReconSummary,
  type ResolveExceptionInput,
} from './contracts/reconciliation';
import { DECISION_ROWS_PATCH, decisionGate, decisionRows, refuse } from './decision-gate';
import { showApprovals } from './approval-state';
import { workflowIds } from '../ids/workflow-ids';
import { RECON_FETCH_OPTIONS, RECON_MATCHING_OPTIONS, RECON_OPTIONS } from './retry-policies';

/** startChild's options for a workflow function (it takes no typeInfo of its own). */
type ChildOptions = Omit<ChildWorkflowOptions, 'typeInfo'>;

const recon = proxyActivities<ReconciliationActivities>(RECON_OPTIONS);
const fetching = proxyActivities<ReconciliationActivities>(RECON_FETCH_OPTIONS);
// Matching asks the gateway about each order of ours missing from the statement: it heartbeats
// the order it reached, so a stalled worker is noticed in minutes (not at the end of the whole
// allowance) and a retry resumes there; a long day is no longer cut at 10 minutes.
const matching = proxyActivities<ReconciliationActivities>(RECON_MATCHING_OPTIONS);

/** A day with lines still in flight is matched again after this, doubling up to a day. */
const RECHECK_FIRST_MS = 60 * 60 * 1000;
const RECHECK_MAX_MS = 24 * 60 * 60 * 1000;

const ACTIONS = ['adjust', 'recover', 'accept'];

/** Why an exception decision cannot be taken, if it cannot. */
function refusal(decision: ResolveExceptionInput): string | undefined {
  if (!ACTIONS.includes(decision.action)) return 'action must be adjust, recover or accept';
  if (!/^\d{1,18}$/.test(decision.exceptionId ?? ''))
    return 'exceptionId must be an exception number';
  if (!decision.reason?.trim() || !decision.operator?.trim())
    return 'an operator and a reason are required';
  return undefined;
}

/** The UTC day before `ms`, as YYYY-MM-DD. */
function dayBefore(ms: number): string {
  return new Date(ms - 86_400_000).toISOString().slice(0, 10);
}

/** The day's state as the ReconState search attribute shows it. */
function setState(state: ReconState): void {
  const value =
    state === 'EXCEPTIONS'
      ? 'Exceptions'
      : state === 'CLEAN'
        ? 'Clean'
        : state === 'PENDING'
          ? 'Pending'
          : 'Running';
  upsertSearchAttributes([{ key: SearchAttributes.ReconState, value }]);
}

/** The daily Schedule's run, without a date: yesterday's run, as an abandoned child. */
function yesterdaysRun(
  channel: string,
): WithWorkflowArgs<typeof reconciliationWorkflow, ChildOptions> & { workflowId: string } {
  const date = dayBefore(workflowInfo().startTime.getTime());
  return {
    workflowId: workflowIds.reconciliation(channel, date),
    args: [{ channel, date }],
    parentClosePolicy: 'ABANDON',
  };
}

/** The decision an operator recorded, as the resolveReconException activity takes it. */
function exceptionDecision(taken: TakenDecision): ResolveExceptionInput {
  const p = taken.payload as {
    exceptionId?: string;
    action?: ExceptionAction;
    investorId?: string;
  };
  return {
    exceptionId: String(p.exceptionId),
    action: p.action as ExceptionAction,
    reason: taken.reason,
    operator: taken.actor,
    ...(p.investorId ? { investorId: p.investorId } : {}),
    ...(taken.requestId ? { requestId: taken.requestId } : {}),
  };
}

/** Refuses (fails the Update) a decision the day cannot take now, or a malformed one. */
function checkResolvable(decision: ResolveExceptionInput, summary: ReconSummary | undefined): void {
  if (summary?.state !== 'EXCEPTIONS')
    refuse(`nothing to resolve: the day is ${summary?.state ?? 'not matched yet'}`);
  const why = refusal(decision);
  if (why) refuse(why);
}

/**
 * recon-{channel}-{date}: FETCHED (the statement in Postgres) → MATCHED (both ways by order
 * number) → CLEAN, or EXCEPTIONS until an operator has resolved each one (the resolveException
 * update), then CLEAN; PENDING while a line waits for an order still in flight, matched again
 * after an hour (doubling up to a day) or on the rematch signal. The history carries totals,
 * never statement lines. Started by the daily Schedule without a date, it starts yesterday's run
 * and ends.
 */
export async function reconciliationWorkflow(
  input: ReconciliationInput,
): Promise<ReconSummary | string> {
  if (!input.date) {
    const child = yesterdaysRun(input.channel);
    await startChild(reconciliationWorkflow, child);
    return child.workflowId;
  }
  const { channel, date } = input;
  let summary: ReconSummary | undefined;
  let resolving = 0;
  let rematch = false;
  // Runs recorded before pending lines existed wait without a timer; new runs re-examine them.
  const recheckPending = patched('recon-pending-recheck');
  let recheckMs = RECHECK_FIRST_MS;
  setHandler(reconSummaryQuery, () => summary);
  setHandler(rematchSignal, () => {
    rematch = true;
  });
  // Marks a new execution at once; the handler asks again, so a day open when this code was
  // deployed takes decision rows from its next Update (histories from before replay the old path).
  patched(DECISION_ROWS_PATCH);
  const gate = decisionGate();
  showApprovals();
  // No validator: every Update reaches the handler, so a forged one is refused and counted there.
  setHandler(resolveExceptionUpdate, async (input) => {
    resolving += 1;
    try {
      let decision = input as unknown as ResolveExceptionInput;
      if (decisionRows()) {
        decision = exceptionDecision(await gate.take('exception.resolve', input));
        checkResolvable(decision, summary);
      }
      summary = await recon.resolveReconException(channel, date, decision);
      return summary;
    } finally {
      resolving -= 1;
    }
  });

  do {
    rematch = false;
    setState('FETCHED');
    summary = await fetching.fetchStatement(channel, date);
    summary = await matching.matchStatement(channel, date);
    setState(summary.state);
    // EXCEPTIONS: the day closes only when no exception is open (or it is matched again first).
    // PENDING: nothing for an operator yet; the day is matched again after a while.
    const done = () =>
      (summary?.state === 'CLEAN' && resolving === 0) || (rematch && resolving === 0);
    const pending = () => recheckPending && summary?.state === 'PENDING';
    while (!done()) {
      if (!pending()) {
        await condition(() => done() || pending());
      } else if (!(await condition(() => done() || !pending(), recheckMs))) {
        rematch = true; // the next run of the day: in-flight lines are looked at again
        recheckMs = Math.min(recheckMs * 2, RECHECK_MAX_MS);
      }
    }
  } while (rematch);
  setState('CLEAN');
  return summary;
}
