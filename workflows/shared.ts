// Names shared by workflows, the worker, the API and tests, without importing workflow code.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DecisionRef } from '../decisions/operator-decisions';

export const TASK_QUEUE = 'lending-core';

/** Custom search attributes, registered on the dev server by scripts/stack.sh. */
export const SearchAttributes = {
  ReviewState: defineSearchAttributeKey('ReviewState', SearchAttributeType.KEYWORD),
  LoanId: defineSearchAttributeKey('LoanId', SearchAttributeType.KEYWORD),
  InvestorId: defineSearchAttributeKey('InvestorId', SearchAttributeType.KEYWORD),
  PayoutStatus: defineSearchAttributeKey('PayoutStatus', SearchAttributeType.KEYWORD),
  ReconState: defineSearchAttributeKey('ReconState', SearchAttributeType.KEYWORD),
  RecoveryState: defineSearchAttributeKey('RecoveryState', SearchAttributeType.KEYWORD),
} as const;

// ---- Loans and subscriptions -------------------------------------------------------------

export type LoanState = 'OPEN' | 'FUNDED' | 'DISBURSED' | 'REPAYING' | 'CLOSED' | 'EXPIRED' | 'DEFAULTED';
export type SubscriptionState = 'RESERVED' | 'CONFIRMED' | 'REFUNDED' | 'CANCELLED';
export type LoanDecision = 'funded' | 'expired';

export interface LoanWorkflowInput {
  loanId: string;
}

export interface SubscriptionWorkflowInput {
  subscriptionId: string;
  loanId: string;
  investorId: string;
}

/** Sent (through the outbox) when the last amount of a loan is reserved. */
export const loanFullyReservedSignal = defineSignal('loanFullyReserved');
/** The loan's decision, sent to each of its subscriptions. */
export const loanDecidedSignal = defineSignal<[LoanDecision]>('loanDecided');
export const loanStateQuery = defineQuery<LoanState>('loanState');
/** The investor takes the reservation back (POST /v1/subscriptions/{id}/cancel); refused once the loan has decided. */
/** The investor's cancel, recorded by the API: the Signal names the decision (none in histories from before). */
export const cancelSubscriptionSignal = defineSignal<[DecisionRef?]>('cancelSubscription');
export const subscriptionStateQuery = defineQuery<SubscriptionState>('subscriptionState');

// ---- Gateway orders and manual review ------------------------------------------------------

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
  /** Set when the gateway's verified notice decided it (operator `gateway:notice:<notifyId>`), not a person. */
  notifyId?: string;
  /**
   * With not_paid, for payouts and deposits: send the same order again, same order number, instead
   * of releasing it (the gateway deduplicates on the number: an order it did have is not executed twice).
   */
  resubmit?: boolean;
}

export interface ReviewEvidence {
  state: string;
  /** The order number the gateway knows the order by (the one stored when the order was created). */
  orderNo: string;
  attempts: GatewayAttempt[];
  since?: string;
  /** Every verified gateway notice for this order, first one first (duplicates once). */
  notices?: VerifiedGatewayNotice[];
  /** While in review: how to decide it (absent in histories from before). */
  decide?: ReviewDecisionHelp;
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

export const DEFAULT_QUERY_POLICY: QueryPolicy = { attempts: 8, initialIntervalMs: 2_000, maxIntervalMs: 60_000 };

export type DepositState = 'SUBMITTED' | 'SUCCEEDED' | 'FAILED' | 'QUERYING' | 'MANUAL_REVIEW';

export interface DepositWorkflowInput {
  depositId: string;
  investorId: string;
  queryPolicy?: QueryPolicy;
}

/** The operator's decision on a payment stuck in MANUAL_REVIEW (Web UI, CLI or API). */
export const resolveReviewUpdate = defineUpdate<string, [DecisionRef]>('resolveReview');
export const reviewEvidenceQuery = defineQuery<ReviewEvidence>('reviewEvidence');

export type PayoutState = 'HELD' | 'SUBMITTED' | 'SUCCEEDED' | 'FAILED' | 'QUERYING' | 'MANUAL_REVIEW';

export interface PayoutWorkflowInput {
  payoutId: string;
  partyId: string;
  queryPolicy?: QueryPolicy;
}

/** A gateway notification the API verified (signature, order, status, amount and currency all match). */
export interface VerifiedGatewayNotice {
  notifyId: string;
  /** The order it is about: a workflow with several orders (a repayment's attempts) ignores the others'. */
  orderNo?: string;
  outcome: 'succeeded' | 'failed';
  code?: string;
}
export const gatewayNoticeSignal = defineSignal<[VerifiedGatewayNotice]>('gatewayNotice');

// ---- Repayments and payout runs ------------------------------------------------------------

export type RepaymentState = 'DUE' | 'COLLECTING' | 'OVERDUE' | 'MANUAL_REVIEW' | 'COLLECTED' | 'DISTRIBUTED' | 'PAID_OUT';

export interface RepaymentWorkflowInput {
  loanId: string;
  installment: number;
  /** For the collection's unknown outcomes, and handed to the payout run's payouts. */
  queryPolicy?: QueryPolicy;
  /** Handed to the payout run (tests: small pages, to see it continue as new). */
  payoutPaging?: PayoutPaging;
}

/** How a payout run pages through the investors; the defaults suit production. */
export interface PayoutPaging {
  /** Investors per page. */
  pageSize: number;
  /** Pages per execution before continue-as-new. */
  pagesPerExecution: number;
}

/** Collect now: before the due date, or again at once when overdue (POST .../repayments). */
export const collectNowSignal = defineSignal<[DecisionRef?]>('collectNow');
export const repaymentStateQuery = defineQuery<RepaymentState>('repaymentState');
/** From a Repayment workflow to its loan's: installment n is paid out. */
export const installmentPaidOutSignal = defineSignal<[number]>('installmentPaidOut');

export type PayoutRunState = 'FANNING_OUT' | 'AWAITING' | 'DONE';

export interface PayoutRunInput {
  loanId: string;
  installment: number;
  queryPolicy?: QueryPolicy;
  paging?: PayoutPaging;
  /** Started by hand: the operator decision the API recorded (a run its repayment starts has none). */
  decisionId?: string;
  /** Carried across continue-as-new: the last investor whose payouts were started, and the counts so far. */
  after?: string;
  started?: number;
  skipped?: number;
}

export interface PayoutRunResult {
  payouts: number;
  succeeded: number;
  failed: number;
  manualReview: number;
  paidMinor: string;
  /** Shares with nothing to send (no bank account on file, or already spent): the money stays in the investor's balance. */
  skipped: number;
}

export const payoutRunStateQuery = defineQuery<{ state: PayoutRunState; started: number; skipped: number }>('payoutRunState');

// ---- Reconciliation and recovery -----------------------------------------------------------

/** PENDING: no exception open, but a line waits for an order still in flight (or an unknown gateway answer). */
export type ReconState = 'FETCHED' | 'MATCHED' | 'PENDING' | 'EXCEPTIONS' | 'CLEAN';

export interface ReconciliationInput {
  channel: string;
  /** YYYY-MM-DD (UTC). Absent when the daily Schedule starts it: then yesterday's run is started. */
  date?: string;
}

export interface ReconSummary {
  state: ReconState;
  statementLines: number;
  theirsMinor: string;
  oursCount: number;
  oursMinor: string;
  matched: number;
  openExceptions: number;
  /** Lines not exceptions yet (IN_FLIGHT, UNKNOWN); absent in histories from before they existed. */
  pendingLines?: number;
}

export type ExceptionAction = 'adjust' | 'recover' | 'accept';

export interface ResolveExceptionInput {
  exceptionId: string;
  action: ExceptionAction;
  reason: string;
  operator: string;
  investorId?: string;
  /** The API request that carried the decision, for the audit log. */
  requestId?: string;
}

export const reconSummaryQuery = defineQuery<ReconSummary | undefined>('reconSummary');
/** Fetch and match the day again while it is open (a statement re-issued, a late order): same exceptions, new ones added. */
export const rematchSignal = defineSignal('rematch');
/** One exception, one decision (by its id): the handler checks the day's state once it has read it; the activity the exception itself. */
export const resolveExceptionUpdate = defineUpdate<ReconSummary, [DecisionRef]>('resolveException');

export type RecoveryWorkflowState = 'OFFSETTING' | 'REQUESTED' | 'MANUAL_REVIEW' | 'RECOVERED' | 'WRITTEN_OFF';

export interface RecoveryInput {
  recoveryId: string;
  investorId: string;
  /** Opened by hand: the operator decision the API recorded with the booking (one from reconciliation has none). */
  decisionId?: string;
  /** For a requested collection's unknown outcomes (compressed in tests); the default otherwise. */
  queryPolicy?: QueryPolicy;
}

export interface WriteOffInput {
  reason: string;
  operator: string;
  /** The API request that carried the decision, for the audit log. */
  requestId?: string;
}

export const recoveryStateQuery = defineQuery<RecoveryWorkflowState>('recoveryState');
/** Sent through the outbox when offsets have cleared the recovery. */
export const recoveryClosedSignal = defineSignal('recoveryClosed');
export const writeOffUpdate = defineUpdate<RecoveryWorkflowState, [DecisionRef]>('writeOff');
/** Ask the investor to pay it back: a collection from their bank account through the gateway (REQUESTED). */
export const requestCollectionUpdate = defineUpdate<RecoveryWorkflowState, [DecisionRef]>('requestCollection');
