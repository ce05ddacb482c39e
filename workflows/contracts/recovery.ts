// The Recovery workflow's messages.
// Plain names only (no workflow code): workflows, activities, the API and tests import them.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DecisionRef } from '../../decisions/operator-decisions';
import type { QueryPolicy } from './gateway-order';

export type RecoveryWorkflowState =
  'OFFSETTING' | 'REQUESTED' | 'MANUAL_REVIEW' | 'RECOVERED' | 'WRITTEN_OFF';

export interface RecoveryInput {
  recoveryId: string;
  investorId: string;
  /**
   * Opened by hand: the operator decision the API recorded with the booking (one from
   * reconciliation has none).
   */
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

/**
 * Ask the investor to pay it back: a collection from their bank account through the gateway
 * (REQUESTED).
 */
export const requestCollectionUpdate = defineUpdate<RecoveryWorkflowState, [DecisionRef]>(
  'requestCollection',
);

/**
 * The same request, through the outbox row committed with its decision: delivered even when the
 * API died before its Update. The workflow takes a decision once, whichever arrives first.
 */
export const collectionRequestedSignal = defineSignal<[DecisionRef]>('collectionRequested');
