import { condition, proxyActivities, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { DepositActivities } from '../activities/deposits';
import {
  DEFAULT_QUERY_POLICY, resolveReviewUpdate, reviewEvidenceQuery, SearchAttributes,
  type DepositState, type DepositWorkflowInput, type GatewayAttempt, type GatewayOutcome, type ResolveReviewInput,
} from './shared';

const gateway = proxyActivities<DepositActivities>({
  // Longer than the gateway client's own timeout, so the client classifies a slow answer, not Temporal.
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});
const ledger = proxyActivities<DepositActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['LedgerError'] },
});

/** A request that provably never reached the gateway is resent, same order number, this many times. */
const NOT_SENT_RESENDS_MAX = 5;

/**
 * deposit-{depositId}: a collection through the gateway, by DESIGN.md's outcome table. Success is
 * credited once; a listed failure ends FAILED; never-sent is resent with the same order number; an
 * unknown outcome is queried with bounded backoff and, if still unknown, waits in MANUAL_REVIEW
 * for an operator's resolveReview update.
 */
export async function depositWorkflow(input: DepositWorkflowInput): Promise<DepositState> {
  const policy = input.queryPolicy ?? DEFAULT_QUERY_POLICY;
  let state: DepositState = 'SUBMITTED';
  const attempts: GatewayAttempt[] = [];
  let reviewSince: string | undefined = undefined; // set on entering MANUAL_REVIEW
  let resolution: ResolveReviewInput | undefined;
  setHandler(reviewEvidenceQuery, () => ({ state, orderNo: input.depositId, attempts, since: reviewSince }));
  setHandler(resolveReviewUpdate, async (decision) => {
    resolution = decision;
    await condition(() => state !== 'MANUAL_REVIEW');
    return state;
  }, {
    validator: (decision) => {
      if (state !== 'MANUAL_REVIEW' || resolution) throw new Error(`nothing to resolve: the deposit is ${state}`);
      if (decision.decision !== 'paid' && decision.decision !== 'not_paid') throw new Error('decision must be paid or not_paid');
      if (!decision.reason?.trim() || !decision.operator?.trim()) throw new Error('an operator and a reason are required');
    },
  });
  upsertSearchAttributes([{ key: SearchAttributes.InvestorId, value: input.investorId }]);
  const record = (action: GatewayAttempt['action'], outcome: GatewayOutcome) => {
    attempts.push({ at: new Date(Date.now()).toISOString(), action, outcome });
    return outcome;
  };

  // SUBMITTED: send, and resend only what provably never arrived.
  let outcome = record('submit', await gateway.submitCollection(input.depositId));
  for (let resend = 1; outcome.kind === 'not_sent' && resend <= NOT_SENT_RESENDS_MAX; resend++) {
    await sleep(1000 * 2 ** (resend - 1));
    outcome = record('submit', await gateway.submitCollection(input.depositId));
  }

  // QUERYING: anything not definitive is asked about, never resent.
  if (outcome.kind !== 'succeeded' && outcome.kind !== 'failed') {
    state = 'QUERYING';
    let interval = policy.initialIntervalMs;
    for (let i = 0; i < policy.attempts; i++) {
      await sleep(interval);
      interval = Math.min(interval * 2, policy.maxIntervalMs);
      outcome = record('query', await gateway.queryCollection(input.depositId));
      if (outcome.kind === 'succeeded' || outcome.kind === 'failed' || outcome.kind === 'not_found') break;
    }
  }

  if (outcome.kind === 'succeeded') {
    await ledger.creditDeposit(input.depositId);
    return (state = 'SUCCEEDED');
  }
  if (outcome.kind === 'failed' || outcome.kind === 'not_found') {
    await ledger.setDepositStatus(input.depositId, 'FAILED');
    return (state = 'FAILED');
  }

  // MANUAL_REVIEW: still unknown. An operator finds it by ReviewState and decides.
  upsertSearchAttributes([{ key: SearchAttributes.ReviewState, value: 'Pending' }]);
  state = 'MANUAL_REVIEW';
  reviewSince = new Date(Date.now()).toISOString();
  await ledger.setDepositStatus(input.depositId, 'MANUAL_REVIEW');
  await condition(() => resolution !== undefined);
  const decided = resolution as ResolveReviewInput;
  if (decided.decision === 'paid') await ledger.creditDeposit(input.depositId, decided);
  else await ledger.setDepositStatus(input.depositId, 'FAILED');
  upsertSearchAttributes([{ key: SearchAttributes.ReviewState, value: 'Resolved' }]);
  return (state = decided.decision === 'paid' ? 'SUCCEEDED' : 'FAILED');
}
