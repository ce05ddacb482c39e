// Run by the hourly Schedule `idempotency-prune` (worker/schedules.ts): prunes the stored
// Idempotency-Key responses past their retention (activities/housekeeping.ts). One activity; its
// result (how many rows, older than when) is in the workflow's history for anyone who asks.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PruneResult } from '../activities/housekeeping';

const { pruneIdempotencyKeys } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '10 seconds', maximumInterval: '5 minutes', maximumAttempts: 5 },
});

export async function idempotencyPruneWorkflow(): Promise<PruneResult> {
  return pruneIdempotencyKeys();
}
