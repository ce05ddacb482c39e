// DESIGN.md's gateway outcome table, once, for every workflow that moves money through the
// gateway (deposits, payouts): send; resend only what provably never arrived, same order number;
// query anything else with bounded backoff; hand what stays unknown to an operator; and before a
// failed order is replaced by a new one (collections), ask about it once more.
import {
  condition,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { DECISION_ROWS_PATCH, decisionGate, decisionRows, refuse } from './decision-gate';
import { showApprovals } from './approval-state';
import type { PauseShown } from './contracts/controls';
import { submitUnlessPaused } from './gateway-pause';
import { SearchAttributes } from './contracts/common';
import {
  gatewayNoticeSignal,
  resolveReviewUpdate,
  reviewEvidenceQuery,
  type GatewayAttempt,
  type GatewayOutcome,
  type QueryPolicy,
  type ResolveReviewInput,
  type ReviewDecision,
  type ReviewDecisionHelp,
  type VerifiedGatewayNotice,
} from './contracts/gateway-order';

/** What the evidence tells an operator to run: the CLI command and the API route that decide it. */
function howToDecide(workflowId: string, resubmit: boolean): ReviewDecisionHelp {
  return {
    cli: `npm run ops -- reviews resolve ${workflowId} --decision <paid|not_paid>${resubmit ? ' [--resubmit]' : ''} --reason "<what the bank shows>"`,
    api: `POST /v1/reviews/${workflowId}/resolve {"decision":"paid"|"not_paid","reason":"..."${resubmit ? ',"resubmit":true' : ''}}`,
    note: 'decide through the API or the CLI: an Update sent from the Web UI is refused, it names no recorded decision',
  };
}

/**
 * A request that provably never reached the gateway is resent, same order number, this many times.
 */
const NOT_SENT_RESENDS_MAX = 5;

export type Settled = 'succeeded' | 'failed' | 'unknown';

/** What a verified notice says, as the decision it stands for. */
const NOTICE_DECISION = { succeeded: 'paid', failed: 'not_paid' } as const;

/** The review decision a verified notice makes: audited as the gateway's, never a person's. */
function decisionOfNotice(notice: VerifiedGatewayNotice): ResolveReviewInput {
  const said = notice.outcome === 'succeeded' ? 'SUCCESS' : `FAILED ${notice.code ?? ''}`.trim();
  return {
    decision: NOTICE_DECISION[notice.outcome],
    operator: `gateway:notice:${notice.notifyId}`,
    notifyId: notice.notifyId,
    reason: `the gateway's signed notice ${notice.notifyId} says ${said}`,
  };
}

/**
 * What a gateway-order workflow shows an operator: its state, every attempt and answer, every
 * verified notice, and since when it waits for review. Registers the reviewEvidence query and the
 * resolveReview update.
 */
export class OrderReview<S extends string> {
  state: S;
  readonly attempts: GatewayAttempt[] = [];
  /** Every verified notice for this order, duplicates once: evidence an operator sees. */
  readonly notices: VerifiedGatewayNotice[] = [];
  private since: string | undefined = undefined;
  private resolution: ResolveReviewInput | undefined = undefined;
  /**
   * The first verified notification from the gateway; later ones (duplicates, reorders) change
   * nothing.
   */
  notice: VerifiedGatewayNotice | undefined = undefined;
  /** The pause its next order waits out, if the emergency stop holds it back. */
  paused: PauseShown | undefined = undefined;

  /**
   * `orderNo`: the number the gateway knows the order by. A workflow that reads it from its row
   * after construction (payouts) sets it with `orderNo =` before the first submit.
   */
  constructor(
    initial: S,
    public orderNo: string,
    private readonly reviewState: S,
    private readonly options: { resubmit?: boolean } = {},
  ) {
    this.state = initial;
    // Marks a new execution at once (histories recorded since carry the marker here); each handler
    // asks again, so a workflow from before this code takes decision rows from its next message.
    patched(DECISION_ROWS_PATCH);
    const gate = decisionGate();
    showApprovals();
    setHandler(gatewayNoticeSignal, async (signalled) => {
      // about an earlier attempt's order
      if (signalled.orderNo !== undefined && signalled.orderNo !== this.orderNo) return;
      // What the gateway said is read from the notice the API verified and stored, never from the
      // signal.
      const notice = decisionRows()
        ? await gate.notice(signalled.notifyId, this.orderNo)
        : signalled;
      if (!notice) return;
      if (!this.notices.some((n) => n.notifyId === notice.notifyId)) this.notices.push(notice);
      this.notice ??= notice;
    });
    setHandler(reviewEvidenceQuery, () => ({
      state: this.state,
      orderNo: this.orderNo,
      attempts: this.attempts,
      since: this.since,
      notices: this.notices,
      ...(this.paused ? { paused: this.paused } : {}),
      ...(this.state === this.reviewState
        ? { decide: howToDecide(workflowInfo().workflowId, this.options.resubmit === true) }
        : {}),
    }));
    // No validator: every Update reaches the handler, so a forged one is refused and counted there.
    setHandler(resolveReviewUpdate, async (input) => {
      // a history from before: accepted by the old validator
      let decision = input as unknown as ResolveReviewInput;
      if (decisionRows()) {
        const taken = await gate.take('review.resolve', input);
        decision = {
          decision: taken.payload.decision as ReviewDecision,
          reason: taken.reason,
          operator: taken.actor,
          ...(taken.requestId ? { requestId: taken.requestId } : {}),
          ...(taken.payload.resubmit === true ? { resubmit: true } : {}),
        };
        // Checked once the row is read, with no await before it is used (a notice may have settled
        // it meanwhile).
        const why = this.refusal(decision);
        if (why) refuse(why);
      }
      this.resolution = decision; // the waiting workflow goes on with it
      await condition(() => this.state !== this.reviewState);
      return this.state;
    });
  }

  /** Why this decision cannot be taken now, if it cannot. */
  private refusal(decision: ResolveReviewInput): string | undefined {
    // A verified notice is evidence: a decision that contradicts it would pay twice or lose money.
    if (this.notice && NOTICE_DECISION[this.notice.outcome] !== decision.decision) {
      return `the gateway's verified notice ${this.notice.notifyId} says ${this.notice.outcome}: ${decision.decision} contradicts it`;
    }
    if (this.state !== this.reviewState || this.resolution)
      return `nothing to resolve: the order is ${this.state}`;
    if (decision.decision !== 'paid' && decision.decision !== 'not_paid')
      return 'decision must be paid or not_paid';
    if (!decision.reason?.trim() || !decision.operator?.trim())
      return 'an operator and a reason are required';
    if (decision.operator.startsWith('gateway:'))
      return "only the gateway's verified notice decides as the gateway";
    if (decision.resubmit && decision.decision !== 'not_paid')
      return 'only a not_paid decision can re-submit';
    if (decision.resubmit && !this.options.resubmit)
      return 'this order is not re-submitted: a new attempt gets its own order';
    return undefined;
  }

  record(action: GatewayAttempt['action'], outcome: GatewayOutcome): GatewayOutcome {
    this.attempts.push({ at: new Date(Date.now()).toISOString(), action, outcome });
    return outcome;
  }

  /**
   * Enters review (ReviewState = "Pending" in the Web UI), runs `onEnter`, waits for the operator's
   * decision or a verified notice, whichever comes first. A notice settles the review by itself,
   * and wins over an operator's contradicting decision accepted in the same moment: the effect has
   * not run yet, and the gateway's signed word is the better evidence.
   */
  async awaitDecision(onEnter: () => Promise<void>): Promise<ResolveReviewInput> {
    upsertSearchAttributes([{ key: SearchAttributes.ReviewState, value: 'Pending' }]);
    this.state = this.reviewState;
    this.since = new Date(Date.now()).toISOString();
    // Histories from before this change waited for the operator only.
    const noticeSettles = patched('review-settled-by-verified-notice');
    await onEnter();
    await condition(
      () => this.resolution !== undefined || (noticeSettles && this.notice !== undefined),
    );
    const notice = this.notice;
    if (
      noticeSettles &&
      notice &&
      (this.resolution === undefined ||
        this.resolution.decision !== NOTICE_DECISION[notice.outcome])
    ) {
      this.record(
        'notice',
        notice.outcome === 'succeeded'
          ? { kind: 'succeeded' }
          : { kind: 'failed', code: notice.code ?? 'UNSPECIFIED' },
      );
      this.resolution = decisionOfNotice(notice); // the handler refuses any decision from here on
    }
    return this.resolution as ResolveReviewInput;
  }

  /**
   * Leaves review to send the same order again (a not_paid with resubmit): back in `state`, a later
   * review waits anew.
   */
  reopen(state: S): void {
    upsertSearchAttributes([{ key: SearchAttributes.ReviewState, value: 'Resolved' }]);
    this.resolution = undefined;
    this.since = undefined;
    this.state = state;
  }

  /** Leaves review with the final state the decision led to. */
  resolved(final: S): S {
    upsertSearchAttributes([{ key: SearchAttributes.ReviewState, value: 'Resolved' }]);
    return (this.state = final);
  }
}

/** Sends the order and follows the outcome table to succeeded, failed, or still unknown. */
export async function settleGatewayOrder<S extends string>(
  steps: { submit: () => Promise<GatewayOutcome>; query: () => Promise<GatewayOutcome> },
  policy: QueryPolicy,
  review: OrderReview<S>,
  querying: S,
): Promise<Settled> {
  // Held back while the emergency stop pauses new orders (workflows/gateway-pause.ts).
  const submit = () => submitUnlessPaused(steps.submit, (pause) => (review.paused = pause));
  let outcome = review.record('submit', await submit());
  for (let resend = 1; outcome.kind === 'not_sent' && resend <= NOT_SENT_RESENDS_MAX; resend++) {
    await sleep(1000 * 2 ** (resend - 1));
    outcome = review.record('submit', await submit());
  }
  if (outcome.kind !== 'succeeded' && outcome.kind !== 'failed') {
    review.state = querying;
    let interval = policy.initialIntervalMs;
    for (let i = 0; i < policy.attempts; i++) {
      // A verified notification ends the wait early: it is as good as a query's answer.
      if (await condition(() => review.notice !== undefined, interval)) break;
      interval = Math.min(interval * 2, policy.maxIntervalMs);
      outcome = review.record('query', await steps.query());
      if (outcome.kind === 'succeeded' || outcome.kind === 'failed' || outcome.kind === 'not_found')
        break;
    }
  }
  // A verified notice beats anything short of a definitive answer, "not found" included: a query
  // can race the gateway's own booking, its signed notice cannot.
  if (
    review.notice &&
    outcome.kind !== 'succeeded' &&
    outcome.kind !== 'failed' &&
    (outcome.kind !== 'not_found' || patched('verified-notice-beats-not-found'))
  ) {
    const n = review.notice;
    outcome = review.record(
      'notice',
      n.outcome === 'succeeded'
        ? { kind: 'succeeded' }
        : { kind: 'failed', code: n.code ?? 'UNSPECIFIED' },
    );
  }
  if (outcome.kind === 'succeeded') return 'succeeded';
  // A listed failure, or the gateway confirming it never received the order: not executed.
  if (outcome.kind === 'failed' || outcome.kind === 'not_found') return 'failed';
  return 'unknown';
}

/**
 * The patch of the rule below: histories from before it opened the next order without asking
 * about the failed one (test/replay replays them on the old path).
 */
export const ASK_BEFORE_REPLACING_PATCH = 'ask-gateway-before-replacing-failed-order';

/** An answer that says nothing (no answer, never sent) is asked again, this many times in all. */
const ASK_AGAIN_TIMES = 3;

/**
 * Before a new order (a new order number) replaces one that ended as not executed (a listed
 * failure, a confirmed not-found, an operator's not_paid): asks the gateway about that order once
 * more. The gateway may have lied at submit (executed, and answered FAILED with a listed code: the
 * incident), and asked by order number it tells the truth. True only when it now says SUCCESS for
 * exactly that order (kind, amount and currency: the client checks them). The answers are the
 * order's evidence (`query` rows). Anything else (FAILED, NOT_FOUND, PROCESSING, still no answer
 * after a few tries) is false, and the caller goes on as before: a new order.
 */
export async function executedAfterAll<S extends string>(
  review: OrderReview<S>,
  query: () => Promise<GatewayOutcome>,
): Promise<boolean> {
  let outcome = review.record('query', await query());
  for (
    let i = 1;
    i < ASK_AGAIN_TIMES && (outcome.kind === 'unknown' || outcome.kind === 'not_sent');
    i++
  ) {
    await sleep(1000 * 2 ** (i - 1));
    outcome = review.record('query', await query());
  }
  return outcome.kind === 'succeeded';
}
