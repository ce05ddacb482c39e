import { condition, proxyActivities, setHandler, startChild, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ReconciliationActivities } from '../activities/reconciliation';
import {
  rematchSignal, reconSummaryQuery, resolveExceptionUpdate, SearchAttributes, type ReconciliationInput, type ReconState, type ReconSummary,
} from './shared';

const recon = proxyActivities<ReconciliationActivities>({
  startToCloseTimeout: '10 minutes', // a day's statement: streamed, but it can be long
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: ['ExceptionRefused'] },
});

const ACTIONS = ['adjust', 'recover', 'accept'];

/** The UTC day before `ms`, as YYYY-MM-DD. */
function dayBefore(ms: number): string {
  return new Date(ms - 86_400_000).toISOString().slice(0, 10);
}

/**
 * recon-{channel}-{date}: FETCHED (the statement in Postgres) → MATCHED (both ways by order
 * number) → CLEAN, or EXCEPTIONS until an operator has resolved each one (the resolveException
 * update), then CLEAN. The history carries totals, never statement lines. Started by the daily
 * Schedule without a date, it starts yesterday's run and ends.
 */
export async function reconciliationWorkflow(input: ReconciliationInput): Promise<ReconSummary | string> {
  if (!input.date) {
    const date = dayBefore(workflowInfo().startTime.getTime());
    const workflowId = `recon-${input.channel}-${date}`;
    await startChild(reconciliationWorkflow, { workflowId, args: [{ channel: input.channel, date }], parentClosePolicy: 'ABANDON' });
    return workflowId;
  }
  const { channel, date } = input;
  let summary: ReconSummary | undefined;
  let resolving = 0;
  let rematch = false;
  const setState = (state: ReconState) => {
    upsertSearchAttributes([{ key: SearchAttributes.ReconState, value: state === 'EXCEPTIONS' ? 'Exceptions' : state === 'CLEAN' ? 'Clean' : 'Running' }]);
  };
  setHandler(reconSummaryQuery, () => summary);
  setHandler(rematchSignal, () => {
    rematch = true;
  });
  setHandler(resolveExceptionUpdate, async (decision) => {
    resolving += 1;
    try {
      summary = await recon.resolveReconException(channel, date, decision);
      return summary;
    } finally {
      resolving -= 1;
    }
  }, {
    validator: (decision) => {
      if (summary?.state !== 'EXCEPTIONS') throw new Error(`nothing to resolve: the day is ${summary?.state ?? 'not matched yet'}`);
      if (!ACTIONS.includes(decision.action)) throw new Error('action must be adjust, recover or accept');
      if (!/^\d{1,18}$/.test(decision.exceptionId ?? '')) throw new Error('exceptionId must be an exception number');
      if (!decision.reason?.trim() || !decision.operator?.trim()) throw new Error('an operator and a reason are required');
    },
  });

  do {
    rematch = false;
    setState('FETCHED');
    summary = await recon.fetchStatement(channel, date);
    summary = await recon.matchStatement(channel, date);
    setState(summary.state);
    // EXCEPTIONS: the day closes only when no exception is open (or it is matched again first).
    await condition(() => (summary?.state === 'CLEAN' && resolving === 0) || (rematch && resolving === 0));
  } while (rematch);
  setState('CLEAN');
  return summary;
}
