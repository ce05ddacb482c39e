// The Payout workflow's messages.
// Plain names only (no workflow code): workflows, activities, the API and tests import them.
import type { QueryPolicy } from './gateway-order';

export type PayoutState =
  'HELD' | 'SUBMITTED' | 'SUCCEEDED' | 'FAILED' | 'QUERYING' | 'MANUAL_REVIEW';

export interface PayoutWorkflowInput {
  payoutId: string;
  partyId: string;
  queryPolicy?: QueryPolicy;
}
