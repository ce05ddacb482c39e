// Housekeeping the platform's tables need: stored Idempotency-Key responses are kept for their
// retention period (a client retrying within it gets the first response back), then pruned.
import type { ActivityDeps } from '.';

/**
 * Stored responses are kept this long by default: longer than any client's retry after an outage.
 */
export const DEFAULT_IDEMPOTENCY_RETENTION_HOURS = 7 * 24;
/**
 * Rows deleted per statement: short transactions, so a large backlog never holds locks for long.
 */
const PRUNE_BATCH = 5_000;

const PRUNE_STATEMENTS = [
  `DELETE FROM api_idempotency WHERE (scope, key) IN (
     SELECT scope, key FROM api_idempotency WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  `DELETE FROM api_idempotent_decisions WHERE (scope, key) IN (
     SELECT scope, key FROM api_idempotent_decisions WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
];

export interface PruneResult {
  deleted: number;
  retentionHours: number;
  olderThan: string;
}

export function createHousekeepingActivities({ pool, idempotencyRetentionHours }: ActivityDeps) {
  const retentionHours = idempotencyRetentionHours ?? DEFAULT_IDEMPOTENCY_RETENTION_HOURS;
  return {
    /**
     * Deletes stored Idempotency-Key responses (and keyed decisions) older than the retention
     * period, in batches. Safe to re-run.
     */
    async pruneIdempotencyKeys(): Promise<PruneResult> {
      const {
        rows: [{ cutoff }],
      } = await pool.query<{ cutoff: Date }>(
        `SELECT now() - make_interval(hours => $1) AS cutoff`,
        [retentionHours],
      );
      let deleted = 0;
      // The stored responses, and the decisions recorded under a key (api/decisions.ts): the same
      // retention.
      for (const statement of PRUNE_STATEMENTS) {
        for (;;) {
          const { rowCount } = await pool.query(statement, [cutoff, PRUNE_BATCH]);
          deleted += rowCount ?? 0;
          if ((rowCount ?? 0) < PRUNE_BATCH) break;
        }
      }
      return { deleted, retentionHours, olderThan: cutoff.toISOString() };
    },
  };
}
