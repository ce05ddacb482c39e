import { allHandlersFinished, condition, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { ReconciliationActivities } from '../activities/reconciliation';
import { GATEWAY_CALL_OPTIONS, OrderReview, settleGatewayOrder } from './gateway-order';
import {
  DEFAULT_QUERY_POLICY, recoveryClosedSignal, recoveryStateQuery, requestCollectionUpdate, SearchAttributes, writeOffUpdate,
  type QueryPolicy, type RecoveryInput, type RecoveryWorkflowState, type ResolveReviewInput, type WriteOffInput,
} from './shared';

const db = proxyActivities<ReconciliationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['RecoveryMissing'] },
});

const gateway = proxyActivities<ReconciliationActivities>(GATEWAY_CALL_OPTIONS);

const SEARCH_VALUE: Record<RecoveryWorkflowState, string> = {
  OFFSETTING: 'Offsetting', REQUESTED: 'Requested', MANUAL_REVIEW: 'Requested', RECOVERED: 'Recovered', WRITTEN_OFF: 'WrittenOff',
};

/**
 * recovery-{recoveryId}: money paid that was not owed, owed back by an investor. OFFSETTING: their
 * next payouts are reduced until it is cleared (the payout run does it in Postgres and signals
 * here) → RECOVERED; or REQUESTED by an operator (the requestCollection update: a collection from
 * the investor's bank account by the gateway outcome table; not collected → OFFSETTING again);
 * or WRITTEN_OFF by an operator with a reason (the writeOff update).
 * Findable in the Web UI by RecoveryState.
 */
export async function recoveryWorkflow(input: RecoveryInput): Promise<RecoveryWorkflowState> {
  let state: RecoveryWorkflowState = 'OFFSETTING';
  let closedSignal = false;
  let writeOff: WriteOffInput | undefined;
  let requested: WriteOffInput | undefined;
  let attempt = 0;
  let requestsMade = 0;
  let requestsDone = 0;
  const show = (s: RecoveryWorkflowState) => {
    state = s;
    upsertSearchAttributes([{ key: SearchAttributes.RecoveryState, value: SEARCH_VALUE[s] }, { key: SearchAttributes.InvestorId, value: input.investorId }]);
  };
  setHandler(recoveryStateQuery, () => state);
  setHandler(recoveryClosedSignal, () => {
    closedSignal = true;
  });
  setHandler(writeOffUpdate, async (decision) => {
    writeOff = decision;
    await condition(() => state !== 'OFFSETTING');
    return state;
  }, {
    validator: (decision) => {
      if (state !== 'OFFSETTING' || writeOff) throw new Error(`nothing to write off: the recovery is ${state}`);
      if (!decision.reason?.trim() || !decision.operator?.trim()) throw new Error('an operator and a reason are required');
    },
  });

  setHandler(requestCollectionUpdate, async (decision) => {
    requested = decision; // accepted by the validator: the main loop starts the collection
    const mine = ++requestsMade;
    await condition(() => requestsDone >= mine); // collected, or back to OFFSETTING
    return state;
  }, {
    // Validators must not change state: they are not replayed.
    validator: (decision) => {
      if (state !== 'OFFSETTING' || writeOff || requested) throw new Error(`nothing to request: the recovery is ${state}`);
      if (!decision.reason?.trim() || !decision.operator?.trim()) throw new Error('an operator and a reason are required');
    },
  });

  show('OFFSETTING');
  // Cleared already (offsets can run before this workflow starts), or when told.
  while ((await db.recoveryState(input.recoveryId)) !== 'RECOVERED') {
    await condition(() => closedSignal || writeOff !== undefined || requested !== undefined);
    if (requested) {
      const collected = await collect(input.recoveryId, ++attempt, show, input.queryPolicy ?? DEFAULT_QUERY_POLICY);
      show(collected ? 'RECOVERED' : 'OFFSETTING');
      requested = undefined;
      requestsDone += 1;
      if (collected) break;
      continue;
    }
    if (writeOff) {
      const after = await db.writeOffRecovery(input.recoveryId, writeOff);
      if (after === 'WRITTEN_OFF') {
        show('WRITTEN_OFF');
        return state;
      }
      writeOff = undefined; // recovered meanwhile: the write-off found nothing left
    }
    closedSignal = false;
  }
  show('RECOVERED');
  await condition(allHandlersFinished); // an operator's update is answered before the workflow ends
  return state;
}

/** One collection attempt by the gateway outcome table; true when the money came back. */
async function collect(recoveryId: string, attempt: number, show: (s: RecoveryWorkflowState) => void, queryPolicy: QueryPolicy): Promise<boolean> {
  const orderNo = await db.openRecoveryCollection(recoveryId, attempt);
  if (!orderNo) return false; // no bank account on file, or nothing owed any more
  show('REQUESTED');
  const review = new OrderReview<RecoveryWorkflowState>('REQUESTED', orderNo, 'MANUAL_REVIEW');
  const settled = await settleGatewayOrder({
    submit: () => gateway.submitRecoveryCollection(orderNo),
    query: () => gateway.queryRecoveryCollection(orderNo),
  }, queryPolicy, review, 'REQUESTED');
  let resolution: ResolveReviewInput | undefined;
  if (settled === 'unknown') {
    resolution = await review.awaitDecision(() => db.setRecoveryCollectionStatus(orderNo, 'MANUAL_REVIEW'));
    review.resolved(resolution.decision === 'paid' ? 'RECOVERED' : 'OFFSETTING');
  }
  if (settled === 'succeeded' || resolution?.decision === 'paid') {
    await db.recordRecoveryCollection(orderNo, resolution);
    return true;
  }
  await db.setRecoveryCollectionStatus(orderNo, 'FAILED', resolution);
  return false;
}
