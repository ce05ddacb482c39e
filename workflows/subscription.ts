import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { LoanActivities } from '../activities/loans';
import { decisionGate, partyDecisionRows } from './decision-gate';
import {
  cancelSubscriptionSignal,
  loanDecidedSignal,
  subscriptionStateQuery,
  type LoanDecision,
  type SubscriptionState,
  type SubscriptionWorkflowInput,
} from './contracts/subscription';
import { SUBSCRIPTION_WRITE_OPTIONS } from './retry-policies';

const { settleSubscription } = proxyActivities<LoanActivities>(SUBSCRIPTION_WRITE_OPTIONS);

/**
 * subscription-{id}: RESERVED until its loan decides, then CONFIRMED (hold posted into escrow) or
 * REFUNDED (hold voided); or CANCELLED when the investor takes it back while the loan is still
 * open. Only this workflow releases its reservation, so a decided loan's progress never jumps back.
 */
export async function subscriptionWorkflow(
  input: SubscriptionWorkflowInput,
): Promise<SubscriptionState> {
  let state: SubscriptionState = 'RESERVED';
  // Every decision signalled, in order: one the loan's status does not show (a forged signal) is
  // refused by the activity, and the next one is taken.
  const decisions: LoanDecision[] = [];
  setHandler(subscriptionStateQuery, () => state);
  setHandler(loanDecidedSignal, (d) => {
    decisions.push(d);
  });

  let cancelRequested = false;
  setHandler(cancelSubscriptionSignal, async (ref) => {
    // Only the investor's own cancel, recorded by the API, releases the reservation.
    if (partyDecisionRows() && !(await decisionGate().tryTake('subscription.cancel', ref))) return;
    cancelRequested = true;
  });

  for (;;) {
    await condition(() => decisions.length > 0 || cancelRequested);
    const decision = decisions.shift();
    if (decision !== undefined) {
      const settled = await settleSubscription(
        input.subscriptionId,
        decision === 'funded' ? 'confirm' : 'refund',
      );
      // Still RESERVED: not the loan's decision. Histories from before never met one.
      if (settled !== 'RESERVED' || !partyDecisionRows()) return (state = settled);
      continue;
    }
    cancelRequested = false;
    // Refused (still RESERVED) when the loan decided first: then its decision is on its way.
    if ((await settleSubscription(input.subscriptionId, 'cancel')) === 'CANCELLED')
      return (state = 'CANCELLED');
  }
}
