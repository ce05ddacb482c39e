// The Deposit workflow's messages.
// Plain names only (no workflow code): workflows, activities, the API and tests import them.
import type { QueryPolicy } from './gateway-order';

export type DepositState = 'SUBMITTED' | 'SUCCEEDED' | 'FAILED' | 'QUERYING' | 'MANUAL_REVIEW';

export interface DepositWorkflowInput {
  depositId: string;
  investorId: string;
  queryPolicy?: QueryPolicy;
}
