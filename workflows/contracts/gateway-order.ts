// What every workflow that sends a gateway order shares: outcomes, the query policy, manual review
// and verified notices. Plain names only (no workflow code): workflows, activities, the API and
// tests import them.
import type { PauseShown } from './controls';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DecisionRef } from '../../decisions/operator-decisions';

/** A gateway outcome as activities report it to workflows (plain data, no bigints). */
export type GatewayOutcome =
  | { kind: 'succeeded' }
  | { kind: 'failed'; code: string }
  | { kind: 'not_sent'; reason: string }
  | { kind: 'not_found' }
  | { kind: 'processing' }
  | { kind: 'unknown'; reason: string };

export interface GatewayAttempt {
  at: string;
  action: 'submit' | 'query' | 'notice';
  outcome: GatewayOutcome;
}

export type ReviewDecision = 'paid' | 'not_paid';

export interface ResolveReviewInput {
  decision: ReviewDecision;
  reason: string;
  operator: string;
  /** The API request that carried the decision, for the audit log. */
  requestId?: string;
  /**
   * Set when the gateway's verified notice decided it (operator `gateway:notice:<notifyId>`), not a
   * person.
   */
  notifyId?: string;
  /**
   * With not_paid, for payouts and deposits: send the same order again, same order number, instead
   * of releasing it (the gateway deduplicates on the number: an order it did have is not executed
   * twice).
   */
  resubmit?: boolean;
}

export interface ReviewEvidence {
  state: string;
  /**
   * The order number the gateway knows the order by (the one stored when the order was created).
   */
  orderNo: string;
  attempts: GatewayAttempt[];
  since?: string;
  /** Every verified gateway notice for this order, first one first (duplicates once). */
  notices?: VerifiedGatewayNotice[];
  /** While in review: how to decide it (absent in histories from before). */
  decide?: ReviewDecisionHelp;
  /** While the emergency stop holds its order back: the pause (workflows/gateway-pause.ts). */
  paused?: PauseShown;
}

export interface ReviewDecisionHelp {
  cli: string;
  api: string;
  note: string;
}

/** How long to keep asking the gateway about an unknown outcome before an operator decides. */
export interface QueryPolicy {
  attempts: number;
  initialIntervalMs: number;
  maxIntervalMs: number;
}

export const DEFAULT_QUERY_POLICY: QueryPolicy = {
  attempts: 8,
  initialIntervalMs: 2_000,
  maxIntervalMs: 60_000,
};

/** The operator's decision on a payment stuck in MANUAL_REVIEW (Web UI, CLI or API). */
export const resolveReviewUpdate = defineUpdate<string, [DecisionRef]>('resolveReview');

export const reviewEvidenceQuery = defineQuery<ReviewEvidence>('reviewEvidence');

/**
 * A gateway notification the API verified (signature, order, status, amount and currency all
 * match).
 */
export interface VerifiedGatewayNotice {
  notifyId: string;
  /**
   * The order it is about: a workflow with several orders (a repayment's attempts) ignores the
   * others'.
   */
  orderNo?: string;
  outcome: 'succeeded' | 'failed';
  code?: string;
}

export const gatewayNoticeSignal = defineSignal<[VerifiedGatewayNotice]>('gatewayNotice');
