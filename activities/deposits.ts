// Activities of the Deposit workflow. Gateway calls return the outcome as data: the workflow, not
// Temporal's retry policy, decides what an unknown means. A retried activity resends the same
// order number with the same content, which the gateway deduplicates.
import type { Pool } from 'pg';
import type { GatewayClient } from '../gateway/client';
import { orderMemo } from '../gateway/protocol';
import {
  creditDeposit,
  getDeposit,
  setDepositStatus,
  type Deposit,
  type DepositStatus,
} from '../payments/deposits';
import type { GatewayOutcome, ResolveReviewInput } from '../workflows/contracts/gateway-order';
import { toPlainOutcome as toPlain } from './gateway-outcome';
import { reviewEvidence, withReviewAudit } from './review-audit';
import { workflowIds } from '../ids/workflow-ids';

export function createDepositActivities(deps: { pool: Pool; gateway: GatewayClient }) {
  const { pool, gateway } = deps;

  async function load(depositId: string): Promise<Deposit> {
    const deposit = await getDeposit(pool, depositId);
    if (!deposit) throw new Error(`deposit ${depositId} does not exist`);
    return deposit;
  }

  return {
    /** The order number the gateway knows this deposit by, as stored when it was created. */
    async depositOrderNo(depositId: string): Promise<string> {
      return (await load(depositId)).orderNo;
    },

    async submitCollection(depositId: string): Promise<GatewayOutcome> {
      const d = await load(depositId);
      return toPlain(
        await gateway.collect({
          orderNo: d.orderNo,
          amountMinor: d.amountMinor,
          currency: d.currency,
          account: d.bankAccount,
          memo: orderMemo('deposit', d.orderNo),
        }),
      );
    },

    async queryCollection(depositId: string): Promise<GatewayOutcome> {
      const d = await load(depositId);
      return toPlain(
        await gateway.query({
          orderNo: d.orderNo,
          kind: 'COLLECTION',
          amountMinor: d.amountMinor,
          currency: d.currency,
        }),
      );
    },

    /** Credits the investor once; `resolution` records the operator when a person decided. */
    async creditDeposit(depositId: string, resolution?: ResolveReviewInput): Promise<string> {
      const d = await load(depositId);
      const evidence = reviewEvidence(resolution);
      return withReviewAudit(
        pool,
        workflowIds.deposit(depositId),
        resolution,
        (tx) => creditDeposit(tx, d, evidence),
        d.orderNo,
      );
    },

    /** `resolution`: an operator's not_paid, audited with the status change. */
    async setDepositStatus(
      depositId: string,
      status: DepositStatus,
      resolution?: ResolveReviewInput,
    ): Promise<void> {
      const d = await load(depositId);
      await withReviewAudit(
        pool,
        workflowIds.deposit(depositId),
        resolution,
        (tx) => setDepositStatus(tx, depositId, status),
        d.orderNo,
      );
    },
  };
}

export type DepositActivities = ReturnType<typeof createDepositActivities>;
