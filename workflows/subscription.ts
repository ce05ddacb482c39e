import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { LoanActivities } from '../activities/loans';
import { loanDecidedSignal, subscriptionStateQuery, type LoanDecision, type SubscriptionState, type SubscriptionWorkflowInput } from './shared';

const { settleSubscription } = proxyActivities<LoanActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['LedgerError'] },
});

/**
 * subscription-{id}: RESERVED until its loan decides, then CONFIRMED (hold posted into escrow) or
 * REFUNDED (hold voided). Only this workflow releases its reservation, so a loan's progress
 * never jumps back.
 */
export async function subscriptionWorkflow(input: SubscriptionWorkflowInput): Promise<SubscriptionState> {
  let state: SubscriptionState = 'RESERVED';
  let decision: LoanDecision | undefined;
  setHandler(subscriptionStateQuery, () => state);
  setHandler(loanDecidedSignal, (d) => {
    decision ??= d; // the first decision stands; a repeated signal changes nothing
  });

  await condition(() => decision !== undefined);
  state = await settleSubscription(input.subscriptionId, decision === 'funded' ? 'confirm' : 'refund');
  return state;
}
