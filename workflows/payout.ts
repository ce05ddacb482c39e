import { patched, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { PayoutActivities } from '../activities/payouts';
import { OrderReview, settleGatewayOrder } from './gateway-order';
import { SearchAttributes } from './contracts/common';
import { DEFAULT_QUERY_POLICY } from './contracts/gateway-order';
import type { PayoutState, PayoutWorkflowInput } from './contracts/payout';
import { GATEWAY_CALL_OPTIONS, LEDGER_WRITE_OPTIONS } from './retry-policies';

const gateway = proxyActivities<PayoutActivities>(GATEWAY_CALL_OPTIONS);
const ledger = proxyActivities<PayoutActivities>(LEDGER_WRITE_OPTIONS);

/**
 * payout-{payoutId}: HELD (the money is held before the gateway hears of it) → SUBMITTED →
 * SUCCEEDED (hold posted) / FAILED (hold voided) / QUERYING → MANUAL_REVIEW → resolved.
 * Never a new order number, never another channel, never a resend of an unknown outcome unless
 * an operator decides not_paid and asks for it (resubmit: the same order number again).
 */
export async function payoutWorkflow(input: PayoutWorkflowInput): Promise<PayoutState> {
  const review = new OrderReview<PayoutState>('HELD', input.payoutId, 'MANUAL_REVIEW', {
    resubmit: true,
  });
  // The gateway knows the order by the number stored with the payout (a digest for long ids), not
  // by its id: the evidence and the notices must name that one. Older histories used the id.
  if (patched('payout-order-no-from-row'))
    review.orderNo = await ledger.payoutOrderNo(input.payoutId);
  upsertSearchAttributes([
    { key: SearchAttributes.InvestorId, value: input.partyId },
    { key: SearchAttributes.PayoutStatus, value: 'SUBMITTED' },
  ]);
  review.state = 'SUBMITTED';

  const settle = () =>
    settleGatewayOrder(
      {
        submit: () => gateway.submitPayout(input.payoutId),
        query: () => gateway.queryPayout(input.payoutId),
      },
      input.queryPolicy ?? DEFAULT_QUERY_POLICY,
      review,
      'QUERYING',
    );
  const finish = (state: PayoutState) => {
    upsertSearchAttributes([{ key: SearchAttributes.PayoutStatus, value: state }]);
    return state;
  };

  // Bounded by the operator: each round is one decision to re-submit.
  for (let settled = await settle(); ; settled = await settle()) {
    if (settled === 'succeeded') {
      await ledger.postPayout(input.payoutId);
      return finish((review.state = 'SUCCEEDED'));
    }
    if (settled === 'failed') {
      await ledger.voidPayout(input.payoutId);
      return finish((review.state = 'FAILED'));
    }
    upsertSearchAttributes([{ key: SearchAttributes.PayoutStatus, value: 'MANUAL_REVIEW' }]);
    const decision = await review.awaitDecision(() =>
      ledger.setPayoutStatus(input.payoutId, 'MANUAL_REVIEW'),
    );
    if (decision.decision === 'not_paid' && decision.resubmit) {
      // Still held: the same order, same order number, goes out again by the outcome table.
      await ledger.resubmitPayout(input.payoutId, decision);
      review.reopen('SUBMITTED');
      upsertSearchAttributes([{ key: SearchAttributes.PayoutStatus, value: 'SUBMITTED' }]);
      continue;
    }
    if (decision.decision === 'paid') await ledger.postPayout(input.payoutId, decision);
    else await ledger.voidPayout(input.payoutId, decision);
    return finish(review.resolved(decision.decision === 'paid' ? 'SUCCEEDED' : 'FAILED'));
  }
}
