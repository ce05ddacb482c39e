// Activities of the Recovery workflow: the recovery's state, its write-off, and its collection
// from the investor's bank account through the gateway (by the outcome table, audited).
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { GatewayClient } from '../gateway/client';
import { orderMemo } from '../gateway/protocol';
import { workflowIds } from '../ids/workflow-ids';
import { inTransaction } from '../db/pool';
import { getRecovery, writeOffRecovery } from '../payments/recoveries';
import {
  getRecoveryCollection,
  openRecoveryCollection,
  recordFoundRecoveryCollection,
  recordRecoveryCollection,
  setRecoveryCollectionStatus,
} from '../payments/recovery-collections';
import { RECOVERY_MISSING } from '../workflows/retry-policies';
import type { GatewayOutcome, ResolveReviewInput } from '../workflows/contracts/gateway-order';
import type { WriteOffInput } from '../workflows/contracts/recovery';
import { toPlainOutcome } from './gateway-outcome';
import { reviewEvidence, withReviewAudit } from './review-audit';

/** The recovery itself: its state, and its write-off by an operator. */
function recoveryStateActivities(pool: Pool) {
  return {
    async recoveryState(recoveryId: string): Promise<string> {
      const recovery = await getRecovery(pool, recoveryId);
      if (!recovery)
        throw ApplicationFailure.create({
          type: RECOVERY_MISSING,
          message: `recovery ${recoveryId} does not exist`,
          nonRetryable: true,
        });
      return recovery.state;
    },

    async writeOffRecovery(recoveryId: string, decision: WriteOffInput): Promise<string> {
      return (await inTransaction(pool, (tx) => writeOffRecovery(tx, recoveryId, decision))).state;
    },
  };
}

/** A collection's order at the gateway: opened once per attempt, submitted, asked about. */
function collectionOrderActivities(pool: Pool, gateway: GatewayClient) {
  return {
    /**
     * REQUESTED: the order for what is still owed (created once per attempt); null when there is
     * nothing to ask.
     */
    async openRecoveryCollection(recoveryId: string, attempt: number): Promise<string | null> {
      return (await openRecoveryCollection(pool, recoveryId, attempt))?.orderNo ?? null;
    },

    async submitRecoveryCollection(orderNo: string): Promise<GatewayOutcome> {
      const c = await getRecoveryCollection(pool, orderNo);
      if (!c) throw new Error(`recovery collection ${orderNo} does not exist`);
      return toPlainOutcome(
        await gateway.collect({
          orderNo,
          amountMinor: c.amountMinor,
          currency: c.currency,
          account: c.bankAccount,
          memo: orderMemo('recovery', orderNo),
        }),
      );
    },

    async queryRecoveryCollection(orderNo: string): Promise<GatewayOutcome> {
      const c = await getRecoveryCollection(pool, orderNo);
      if (!c) throw new Error(`recovery collection ${orderNo} does not exist`);
      return toPlainOutcome(
        await gateway.query({
          orderNo,
          kind: 'COLLECTION',
          amountMinor: c.amountMinor,
          currency: c.currency,
        }),
      );
    },
  };
}

/** How a collection ended, recorded (with the operator's review audited, when one decided it). */
function collectionOutcomeActivities(pool: Pool) {
  return {
    async recordRecoveryCollection(
      orderNo: string,
      resolution?: ResolveReviewInput,
    ): Promise<void> {
      const evidence = reviewEvidence(resolution);
      const c = await getRecoveryCollection(pool, orderNo);
      if (!c) throw new Error(`recovery collection ${orderNo} does not exist`);
      await withReviewAudit(
        pool,
        workflowIds.recovery(c.recoveryId),
        resolution,
        (tx) => recordRecoveryCollection(tx, orderNo, evidence),
        orderNo,
      );
    },

    /**
     * A recovery collection recorded FAILED that the gateway, asked again, says it executed: booked
     * once; what offsets took meanwhile goes back.
     */
    async recordFoundRecoveryCollection(
      orderNo: string,
    ): Promise<{ state: string; recoveredMinor: string; refundedMinor: string; from: string }> {
      const c = await getRecoveryCollection(pool, orderNo);
      if (!c) throw new Error(`recovery collection ${orderNo} does not exist`);
      const found = await withReviewAudit(
        pool,
        workflowIds.recovery(c.recoveryId),
        undefined,
        (tx) => recordFoundRecoveryCollection(tx, orderNo, reviewEvidence(undefined)),
        orderNo,
      );
      return {
        state: found.state,
        recoveredMinor: found.recoveredMinor.toString(),
        refundedMinor: found.refundedMinor.toString(),
        from: found.from,
      };
    },

    /** `resolution`: an operator's not_paid, audited with the status change. */
    async setRecoveryCollectionStatus(
      orderNo: string,
      status: 'FAILED' | 'MANUAL_REVIEW',
      resolution?: ResolveReviewInput,
    ): Promise<void> {
      const c = await getRecoveryCollection(pool, orderNo);
      if (!c) throw new Error(`recovery collection ${orderNo} does not exist`);
      await withReviewAudit(
        pool,
        workflowIds.recovery(c.recoveryId),
        resolution,
        (tx) => setRecoveryCollectionStatus(tx, orderNo, status),
        orderNo,
      );
    },
  };
}

/** Every activity of the Recovery workflow; the keys are the activity types. */
export function createRecoveryActivities(deps: { pool: Pool; gateway: GatewayClient }) {
  const { pool, gateway } = deps;
  return {
    ...recoveryStateActivities(pool),
    ...collectionOrderActivities(pool, gateway),
    ...collectionOutcomeActivities(pool),
  };
}

export type RecoveryActivities = ReturnType<typeof createRecoveryActivities>;
