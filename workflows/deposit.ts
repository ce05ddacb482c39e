import { patched, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { DepositActivities } from '../activities/deposits';
import { OrderReview, settleGatewayOrder } from './gateway-order';
import { SearchAttributes } from './contracts/common';
import type { DepositState, DepositWorkflowInput } from './contracts/deposit';
import { DEFAULT_QUERY_POLICY } from './contracts/gateway-order';
import { GATEWAY_CALL_OPTIONS, LEDGER_WRITE_OPTIONS } from './retry-policies';

const gateway = proxyActivities<DepositActivities>(GATEWAY_CALL_OPTIONS);
const ledger = proxyActivities<DepositActivities>(LEDGER_WRITE_OPTIONS);

/**
 * deposit-{depositId}: a collection through the gateway, by DESIGN.md's outcome table. Success is
 * credited once; a listed failure ends FAILED; an outcome still unknown after the queries waits
 * in MANUAL_REVIEW for an operator's resolveReview update.
 */
export async function depositWorkflow(input: DepositWorkflowInput): Promise<DepositState> {
  const review = new OrderReview<DepositState>('SUBMITTED', input.depositId, 'MANUAL_REVIEW', {
    resubmit: true,
  });
  // Named by the order number stored with the deposit, never one derived here. Older histories used
  // the id.
  if (patched('deposit-order-no-from-row'))
    review.orderNo = await ledger.depositOrderNo(input.depositId);
  upsertSearchAttributes([{ key: SearchAttributes.InvestorId, value: input.investorId }]);

  const settle = () =>
    settleGatewayOrder(
      {
        submit: () => gateway.submitCollection(input.depositId),
        query: () => gateway.queryCollection(input.depositId),
      },
      input.queryPolicy ?? DEFAULT_QUERY_POLICY,
      review,
      'QUERYING',
    );

  // Bounded by the operator: each round is one decision to re-submit.
  for (let settled = await settle(); ; settled = await settle()) {
    if (settled === 'succeeded') {
      await ledger.creditDeposit(input.depositId);
      return (review.state = 'SUCCEEDED');
    }
    if (settled === 'failed') {
      await ledger.setDepositStatus(input.depositId, 'FAILED');
      return (review.state = 'FAILED');
    }
    const decision = await review.awaitDecision(() =>
      ledger.setDepositStatus(input.depositId, 'MANUAL_REVIEW'),
    );
    if (decision.decision === 'not_paid' && decision.resubmit) {
      // The same collection, same order number, goes out again by the outcome table.
      await ledger.setDepositStatus(input.depositId, 'PENDING', decision);
      review.reopen('SUBMITTED');
      continue;
    }
    if (decision.decision === 'paid') await ledger.creditDeposit(input.depositId, decision);
    else await ledger.setDepositStatus(input.depositId, 'FAILED', decision);
    return review.resolved(decision.decision === 'paid' ? 'SUCCEEDED' : 'FAILED');
  }
}
