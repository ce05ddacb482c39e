import {
  allHandlersFinished,
  condition,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import {
  DECISION_ROWS_PATCH,
  decisionGate,
  decisionRows,
  refuse,
  type DecisionGate,
} from './decision-gate';
import { showApprovals } from './approval-state';
import type { RecoveryActivities } from '../activities/recoveries';
import {
  ASK_BEFORE_REPLACING_PATCH,
  executedAfterAll,
  OrderReview,
  settleGatewayOrder,
} from './gateway-order';
import { SearchAttributes } from './contracts/common';
import {
  DEFAULT_QUERY_POLICY,
  type QueryPolicy,
  type ResolveReviewInput,
} from './contracts/gateway-order';
import {
  collectionRequestedSignal,
  recoveryClosedSignal,
  recoveryStateQuery,
  requestCollectionUpdate,
  writeOffUpdate,
  type RecoveryInput,
  type RecoveryWorkflowState,
  type WriteOffInput,
} from './contracts/recovery';
import { GATEWAY_CALL_OPTIONS, RECOVERY_WRITE_OPTIONS } from './retry-policies';

const db = proxyActivities<RecoveryActivities>(RECOVERY_WRITE_OPTIONS);

const gateway = proxyActivities<RecoveryActivities>(GATEWAY_CALL_OPTIONS);

const SEARCH_VALUE: Record<RecoveryWorkflowState, string> = {
  OFFSETTING: 'Offsetting',
  REQUESTED: 'Requested',
  MANUAL_REVIEW: 'Requested',
  RECOVERED: 'Recovered',
  WRITTEN_OFF: 'WrittenOff',
};

/** What the main loop and the operator's Update handlers share. */
interface RecoveryRun {
  state: RecoveryWorkflowState;
  /** An operator's write-off, for the main loop to book. */
  writeOff?: WriteOffInput;
  /** An operator's request for a collection, for the main loop to start. */
  requested?: WriteOffInput;
  requestsMade: number;
  requestsDone: number;
}

/**
 * Registers the writeOff and requestCollection updates. No validators: every Update reaches its
 * handler, so a forged one is refused and counted there.
 */
function handleOperatorUpdates(run: RecoveryRun, gate: DecisionGate): void {
  /**
   * Reads the decision an Update names from its row (or takes the Update itself, in a history from
   * before) and hands it to `use` in the same synchronous step as the state check: two Updates
   * racing cannot both pass it.
   */
  const decide = async (
    kind: 'recovery.write_off' | 'recovery.request_collection',
    input: unknown,
    use: (d: WriteOffInput) => void,
  ): Promise<void> => {
    if (!decisionRows()) return use(input as WriteOffInput);
    const taken = await gate.take(kind, input);
    const closed =
      run.state !== 'OFFSETTING' || run.writeOff || run.requested
        ? `nothing to decide: the recovery is ${run.state}`
        : undefined;
    if (closed) refuse(closed);
    use({
      reason: taken.reason,
      operator: taken.actor,
      ...(taken.requestId ? { requestId: taken.requestId } : {}),
    });
  };

  setHandler(writeOffUpdate, async (input) => {
    await decide('recovery.write_off', input, (d) => {
      run.writeOff = d;
    });
    await condition(() => run.state !== 'OFFSETTING');
    return run.state;
  });

  // A request reaches the workflow twice: as the API's Update and as the outbox's signal committed
  // with its decision (delivered even if the API died first). The signal takes it if it comes
  // first, and the API's Update then gets its outcome; a signal after the Update changes nothing.
  // Any other Update naming a used decision is refused, as ever. Histories from before have no
  // signal.
  const once = patched(COLLECTION_REQUEST_ONCE_PATCH);
  const bySignal = new Map<string, { taking: Promise<number>; answered: boolean }>();
  const taken = new Set<string>();
  const requestCollection = async (input: unknown): Promise<number> => {
    const id = once ? decisionIdOf(input) : undefined;
    if (id !== undefined) taken.add(id);
    let mine = 0;
    await decide('recovery.request_collection', input, (d) => {
      run.requested = d; // the main loop starts the collection
      mine = ++run.requestsMade;
    });
    return mine;
  };
  setHandler(requestCollectionUpdate, async (input) => {
    const id = once ? decisionIdOf(input) : undefined;
    const signalled = id === undefined ? undefined : bySignal.get(id);
    let mine: number;
    if (signalled && !signalled.answered) {
      signalled.answered = true; // the API's own Update, once
      mine = await signalled.taking;
    } else mine = await requestCollection(input);
    await condition(() => run.requestsDone >= mine); // collected, or back to OFFSETTING
    return run.state;
  });
  if (!once) return;
  setHandler(collectionRequestedSignal, (ref) => {
    if (taken.has(ref.decisionId)) return; // the Update took it first
    const taking = requestCollection(ref);
    bySignal.set(ref.decisionId, { taking, answered: false });
    // a refusal is recorded where the decision is taken; a signal has no one to answer
    taking.catch(() => undefined);
  });
}

/** The patch that lets the outbox's signal deliver a collection request the API could not. */
const COLLECTION_REQUEST_ONCE_PATCH = 'collection-request-taken-once';

/** The decision id an operator's message names, if it is a decision ref. */
function decisionIdOf(input: unknown): string | undefined {
  const id = (input as { decisionId?: unknown } | null)?.decisionId;
  return typeof id === 'string' ? id : undefined;
}

/** The patch that audits a write-off the loop never reached (histories from before end without). */
const WRITE_OFF_AS_CLEARED_PATCH = 'write-off-taken-as-cleared-audited';

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
  const run: RecoveryRun = { state: 'OFFSETTING', requestsMade: 0, requestsDone: 0 };
  let closedSignal = false;
  let attempt = 0;
  /**
   * The last collection's order, once it ended as not collected: asked about before a new one
   * replaces it.
   */
  let failed: FailedCollection | undefined;
  const show = (s: RecoveryWorkflowState) => {
    run.state = s;
    upsertSearchAttributes([
      { key: SearchAttributes.RecoveryState, value: SEARCH_VALUE[s] },
      { key: SearchAttributes.InvestorId, value: input.investorId },
    ]);
  };
  setHandler(recoveryStateQuery, () => run.state);
  setHandler(recoveryClosedSignal, () => {
    closedSignal = true;
  });
  // Marks a new execution at once; each handler asks again, so a recovery open when this code was
  // deployed takes decision rows from its next Update (histories from before replay the old path).
  const rows = patched(DECISION_ROWS_PATCH);
  const gate = decisionGate();
  showApprovals();
  handleOperatorUpdates(run, gate);

  // Opened by hand: the decision recorded with the booking is taken first (a made-up one fails the
  // run, nothing done).
  if (rows && input.decisionId !== undefined) await gate.take('recovery.open', input);
  show('OFFSETTING');
  // Cleared already (offsets can run before this workflow starts), or when told.
  while ((await db.recoveryState(input.recoveryId)) !== 'RECOVERED') {
    await condition(
      () => closedSignal || run.writeOff !== undefined || run.requested !== undefined,
    );
    if (run.requested) {
      let collected: boolean;
      // The last request's order ended as not collected: a new order would take the money twice if
      // that answer was a lie. Asked now, the gateway says SUCCESS: that order recovered it.
      const last = failed;
      if (
        last &&
        patched(ASK_BEFORE_REPLACING_PATCH) &&
        (await executedAfterAll(last.review, () => gateway.queryRecoveryCollection(last.orderNo)))
      ) {
        collected = (await db.recordFoundRecoveryCollection(last.orderNo)).state === 'RECOVERED';
        failed = undefined;
      } else {
        const tried = await collect(
          input.recoveryId,
          ++attempt,
          show,
          input.queryPolicy ?? DEFAULT_QUERY_POLICY,
        );
        collected = tried.collected;
        if (tried.failed) failed = tried.failed;
      }
      show(collected ? 'RECOVERED' : 'OFFSETTING');
      run.requested = undefined;
      run.requestsDone += 1;
      if (collected) break;
      continue;
    }
    if (run.writeOff) {
      const after = await db.writeOffRecovery(input.recoveryId, run.writeOff);
      if (after === 'WRITTEN_OFF') {
        show('WRITTEN_OFF');
        return run.state;
      }
      run.writeOff = undefined; // recovered meanwhile: the write-off found nothing left
    }
    closedSignal = false;
  }
  show('RECOVERED');
  await condition(allHandlersFinished); // an operator's update is answered before the workflow ends
  // A write-off taken while the loop found the recovery cleared (the offsets' signal and the
  // decision in the same moment) is audited as having found nothing, like any other (chaos seed 6).
  // Any later one is refused: the state is RECOVERED.
  if (run.writeOff && patched(WRITE_OFF_AS_CLEARED_PATCH))
    await db.writeOffRecovery(input.recoveryId, run.writeOff);
  return run.state;
}

interface FailedCollection {
  orderNo: string;
  review: OrderReview<RecoveryWorkflowState>;
}

/**
 * One collection attempt by the gateway outcome table: whether the money came back, and the order
 * if it ended not collected.
 */
async function collect(
  recoveryId: string,
  attempt: number,
  show: (s: RecoveryWorkflowState) => void,
  queryPolicy: QueryPolicy,
): Promise<{ collected: boolean; failed?: FailedCollection }> {
  const orderNo = await db.openRecoveryCollection(recoveryId, attempt);
  if (!orderNo) return { collected: false }; // no bank account on file, or nothing owed any more
  show('REQUESTED');
  const review = new OrderReview<RecoveryWorkflowState>('REQUESTED', orderNo, 'MANUAL_REVIEW');
  const settled = await settleGatewayOrder(
    {
      submit: () => gateway.submitRecoveryCollection(orderNo),
      query: () => gateway.queryRecoveryCollection(orderNo),
    },
    queryPolicy,
    review,
    'REQUESTED',
  );
  let resolution: ResolveReviewInput | undefined;
  if (settled === 'unknown') {
    resolution = await review.awaitDecision(() =>
      db.setRecoveryCollectionStatus(orderNo, 'MANUAL_REVIEW'),
    );
    review.resolved(resolution.decision === 'paid' ? 'RECOVERED' : 'OFFSETTING');
  }
  if (settled === 'succeeded' || resolution?.decision === 'paid') {
    await db.recordRecoveryCollection(orderNo, resolution);
    return { collected: true };
  }
  await db.setRecoveryCollectionStatus(orderNo, 'FAILED', resolution);
  return { collected: false, failed: { orderNo, review } };
}
