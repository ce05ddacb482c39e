import { allHandlersFinished, condition, patched, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { DECISION_ROWS_PATCH, DecisionGate, refuse } from './decision-gate';
import type { ReconciliationActivities } from '../activities/reconciliation';
import { ASK_BEFORE_REPLACING_PATCH, executedAfterAll, GATEWAY_CALL_OPTIONS, OrderReview, settleGatewayOrder } from './gateway-order';
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
 * or WRITTEN_OFF by an operator with a reason (the writeOff update). Before a new request's order,
 * the last one that ended not collected is asked about again: executed after all (a lie), it is the
 * collection, and what offsets took meanwhile goes back to the investor.
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
  /** The last collection's order, once it ended as not collected: asked about before a new one replaces it. */
  let failed: FailedCollection | undefined;
  const show = (s: RecoveryWorkflowState) => {
    state = s;
    upsertSearchAttributes([{ key: SearchAttributes.RecoveryState, value: SEARCH_VALUE[s] }, { key: SearchAttributes.InvestorId, value: input.investorId }]);
  };
  setHandler(recoveryStateQuery, () => state);
  setHandler(recoveryClosedSignal, () => {
    closedSignal = true;
  });
  // Histories from before decisions were rows carry the decision in the Update itself.
  const rows = patched(DECISION_ROWS_PATCH);
  const gate = new DecisionGate();
  /** The decision an Update names, read from its row (or the Update itself, in an old history). */
  const decisionOf = async (kind: 'recovery.write_off' | 'recovery.request_collection', input: unknown): Promise<WriteOffInput> => {
    if (!rows) return input as WriteOffInput;
    const taken = await gate.take(kind, input);
    return { reason: taken.reason, operator: taken.actor, ...(taken.requestId ? { requestId: taken.requestId } : {}) };
  };
  /** Still OFFSETTING with nothing decided: checked again after the row is read (with no await before it is used). */
  const open = (what: string) => (state !== 'OFFSETTING' || writeOff || requested ? `nothing to ${what}: the recovery is ${state}` : undefined);
  const validStateFor = (what: string, decision: unknown) => {
    const closed = open(what);
    if (closed) throw new Error(closed);
    const d = decision as Partial<WriteOffInput>;
    if (!rows && (!d.reason?.trim() || !d.operator?.trim())) throw new Error('an operator and a reason are required');
  };

  setHandler(writeOffUpdate, async (input) => {
    const decision = await decisionOf('recovery.write_off', input);
    const closed = open('write off');
    if (rows && closed) refuse(closed);
    writeOff = decision;
    await condition(() => state !== 'OFFSETTING');
    return state;
  }, { validator: (input) => validStateFor('write off', input) });

  setHandler(requestCollectionUpdate, async (input) => {
    const decision = await decisionOf('recovery.request_collection', input);
    const closed = open('request');
    if (rows && closed) refuse(closed);
    requested = decision; // the main loop starts the collection
    const mine = ++requestsMade;
    await condition(() => requestsDone >= mine); // collected, or back to OFFSETTING
    return state;
  }, {
    // Validators must not change state: they are not replayed.
    validator: (input) => validStateFor('request', input),
  });

  // Opened by hand: the decision recorded with the booking is taken first (a made-up one fails the run, nothing done).
  if (rows && input.decisionId !== undefined) await gate.take('recovery.open', input);
  show('OFFSETTING');
  // Cleared already (offsets can run before this workflow starts), or when told.
  while ((await db.recoveryState(input.recoveryId)) !== 'RECOVERED') {
    await condition(() => closedSignal || writeOff !== undefined || requested !== undefined);
    if (requested) {
      let collected: boolean;
      // The last request's order ended as not collected: a new order would take the money twice if
      // that answer was a lie. Asked now, the gateway says SUCCESS: that order recovered it.
      const last = failed;
      if (last && patched(ASK_BEFORE_REPLACING_PATCH) && await executedAfterAll(last.review, () => gateway.queryRecoveryCollection(last.orderNo))) {
        collected = (await db.recordFoundRecoveryCollection(last.orderNo)).state === 'RECOVERED';
        failed = undefined;
      } else {
        const tried = await collect(input.recoveryId, ++attempt, show, input.queryPolicy ?? DEFAULT_QUERY_POLICY);
        collected = tried.collected;
        if (tried.failed) failed = tried.failed;
      }
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

interface FailedCollection {
  orderNo: string;
  review: OrderReview<RecoveryWorkflowState>;
}

/** One collection attempt by the gateway outcome table: whether the money came back, and the order if it ended not collected. */
async function collect(recoveryId: string, attempt: number, show: (s: RecoveryWorkflowState) => void, queryPolicy: QueryPolicy): Promise<{ collected: boolean; failed?: FailedCollection }> {
  const orderNo = await db.openRecoveryCollection(recoveryId, attempt);
  if (!orderNo) return { collected: false }; // no bank account on file, or nothing owed any more
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
    return { collected: true };
  }
  await db.setRecoveryCollectionStatus(orderNo, 'FAILED', resolution);
  return { collected: false, failed: { orderNo, review } };
}
