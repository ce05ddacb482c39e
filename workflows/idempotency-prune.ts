// Run by the hourly Schedule `idempotency-prune` (worker/schedules.ts): prunes the stored
// Idempotency-Key responses past their retention (activities/housekeeping.ts). One activity; its
// result (how many rows, older than when) is in the workflow's history for anyone who asks.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PruneResult } from '../activities/housekeeping';
import { PRUNE_OPTIONS } from './retry-policies';

const { pruneIdempotencyKeys } = proxyActivities<Activities>(PRUNE_OPTIONS);

export async function idempotencyPruneWorkflow(): Promise<PruneResult> {
  return pruneIdempotencyKeys();
}
