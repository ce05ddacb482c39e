// Activities of the Payout workflow. Gateway calls return the outcome as data: the workflow
// decides. A retried activity resends the same order number with the same content, which the
// gateway deduplicates; a new order number or another channel is never used.
import type { Pool } from 'pg';
import type { GatewayClient } from '../gateway/client';
import { orderMemo } from '../gateway/protocol';
import {
  getPayout,
  postPayout,
  setPayoutStatus,
  voidPayout,
  type Payout,
  type PayoutStatus,
} from '../payments/payouts';
import { payeeOf } from '../payments/bank-accounts';
import type { GatewayOutcome, ResolveReviewInput } from '../workflows/contracts/gateway-order';
import { toPlainOutcome } from './gateway-outcome';
import { reviewEvidence, withReviewAudit } from './review-audit';
import { workflowIds } from '../ids/workflow-ids';

export function createPayoutActivities(deps: { pool: Pool; gateway: GatewayClient }) {
  const { pool, gateway } = deps;

  async function load(payoutId: string): Promise<Payout> {
    const payout = await getPayout(pool, payoutId);
    if (!payout) throw new Error(`payout ${payoutId} does not exist`);
    return payout;
  }

  const evidence = (resolution?: ResolveReviewInput) => reviewEvidence(resolution);

  return {
    /** The order number the gateway knows this payout by, as stored when it was created. */
    async payoutOrderNo(payoutId: string): Promise<string> {
      return (await load(payoutId)).orderNo;
    },

    async submitPayout(payoutId: string): Promise<GatewayOutcome> {
      const p = await load(payoutId);
      return toPlainOutcome(
        await gateway.payout({
          orderNo: p.orderNo,
          amountMinor: p.amountMinor,
          currency: p.currency,
          account: await payeeOf(pool, p),
          memo: orderMemo(p.purpose, p.orderNo),
        }),
      );
    },

    async queryPayout(payoutId: string): Promise<GatewayOutcome> {
      const p = await load(payoutId);
      return toPlainOutcome(
        await gateway.query({
          orderNo: p.orderNo,
          kind: 'PAYOUT',
          amountMinor: p.amountMinor,
          currency: p.currency,
        }),
      );
    },

    async postPayout(payoutId: string, resolution?: ResolveReviewInput): Promise<void> {
      const payout = await load(payoutId);
      await withReviewAudit(
        pool,
        workflowIds.payout(payoutId),
        resolution,
        (tx) => postPayout(tx, payout, evidence(resolution)),
        payout.orderNo,
      );
    },

    async voidPayout(payoutId: string, resolution?: ResolveReviewInput): Promise<void> {
      const payout = await load(payoutId);
      await withReviewAudit(
        pool,
        workflowIds.payout(payoutId),
        resolution,
        (tx) => voidPayout(tx, payout, evidence(resolution)),
        payout.orderNo,
      );
    },

    /**
     * An operator's not_paid with resubmit: the payout is HELD again for the same order, audited
     * with it.
     */
    async resubmitPayout(payoutId: string, resolution: ResolveReviewInput): Promise<void> {
      await withReviewAudit(pool, workflowIds.payout(payoutId), resolution, (tx) =>
        setPayoutStatus(tx, payoutId, 'HELD'),
      );
    },

    async setPayoutStatus(payoutId: string, status: PayoutStatus): Promise<void> {
      await setPayoutStatus(pool, payoutId, status);
    },
  };
}

export type PayoutActivities = ReturnType<typeof createPayoutActivities>;
