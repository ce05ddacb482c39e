// Housekeeping the platform's tables need: stored Idempotency-Key responses are kept for their
// retention period (a client retrying within it gets the first response back), then pruned.
import type { ActivityDeps } from '.';

/** Stored responses are kept this long by default: longer than any client's retry after an outage. */
export const DEFAULT_IDEMPOTENCY_RETENTION_HOURS = 7 * 24;
/** Rows deleted per statement: short transactions, so a large backlog never holds locks for long. */
const PRUNE_BATCH = 5_000;

export interface PruneResult { deleted: number; retentionHours: number; olderThan: string }

export function createHousekeepingActivities({ pool, idempotencyRetentionHours }: ActivityDeps) {
  const retentionHours = idempotencyRetentionHours ?? DEFAULT_IDEMPOTENCY_RETENTION_HOURS;
  return {
    /** Deletes stored Idempotency-Key responses older than the retention period, in batches. Safe to re-run. */
    async pruneIdempotencyKeys(): Promise<PruneResult> {
      const { rows: [{ cutoff }] } = await pool.query<{ cutoff: Date }>(`SELECT now() - make_interval(hours => $1) AS cutoff`, [retentionHours]);
      let deleted = 0;
      for (;;) {
        const { rowCount } = await pool.query(
          `DELETE FROM api_idempotency WHERE (scope, key) IN (
             SELECT scope, key FROM api_idempotency WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
          [cutoff, PRUNE_BATCH]);
        deleted += rowCount ?? 0;
        if ((rowCount ?? 0) < PRUNE_BATCH) break;
      }
      return { deleted, retentionHours, olderThan: cutoff.toISOString() };
    },
  };
}
