// The Reconciliation workflow's messages: its input, summary and the operator's resolutions.
// Plain names only (no workflow code): workflows, activities, the API and tests import them.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DecisionRef } from '../../decisions/operator-decisions';

/**
 * PENDING: no exception open, but a line waits for an order still in flight (or an unknown gateway
 * answer).
 */
export type ReconState = 'FETCHED' | 'MATCHED' | 'PENDING' | 'EXCEPTIONS' | 'CLEAN';

export interface ReconciliationInput {
  channel: string;
  /**
   * YYYY-MM-DD (UTC). Absent when the daily Schedule starts it: then yesterday's run is started.
   */
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
  /**
   * Lines not exceptions yet (IN_FLIGHT, UNKNOWN); absent in histories from before they existed.
   */
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

/**
 * Fetch and match the day again while it is open (a statement re-issued, a late order): same
 * exceptions, new ones added.
 */
export const rematchSignal = defineSignal('rematch');

/**
 * One exception, one decision (by its id): the handler checks the day's state once it has read it;
 * the activity the exception itself.
 */
export const resolveExceptionUpdate = defineUpdate<ReconSummary, [DecisionRef]>('resolveException');
