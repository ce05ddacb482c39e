import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { LoanActivities } from '../activities/loans';
import { cancelSubscriptionSignal, loanDecidedSignal, subscriptionStateQuery, type LoanDecision, type SubscriptionState, type SubscriptionWorkflowInput } from './shared';

const { settleSubscription } = proxyActivities<LoanActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['LedgerError'] },
});

/**
 * subscription-{id}: RESERVED until its loan decides, then CONFIRMED (hold posted into escrow) or
 * REFUNDED (hold voided); or CANCELLED when the investor takes it back while the loan is still
 * open. Only this workflow releases its reservation, so a decided loan's progress never jumps back.
 */
export async function subscriptionWorkflow(input: SubscriptionWorkflowInput): Promise<SubscriptionState> {
  let state: SubscriptionState = 'RESERVED';
  let decision: LoanDecision | undefined;
  setHandler(subscriptionStateQuery, () => state);
  setHandler(loanDecidedSignal, (d) => {
    decision ??= d; // the first decision stands; a repeated signal changes nothing
  });

  let cancelRequested = false;
  setHandler(cancelSubscriptionSignal, () => {
    cancelRequested = true;
  });

  for (;;) {
    await condition(() => decision !== undefined || cancelRequested);
    if (decision !== undefined) break;
    cancelRequested = false;
    // Refused (still RESERVED) when the loan decided first: then its decision is on its way.
    if ((await settleSubscription(input.subscriptionId, 'cancel')) === 'CANCELLED') return (state = 'CANCELLED');
  }
  state = await settleSubscription(input.subscriptionId, decision === 'funded' ? 'confirm' : 'refund');
  return state;
}
