import type { Pool } from 'pg';

export interface SmokeRun {
  workflowId: string;
  message: string;
  recordedAt: string;
}

export function createSmokeActivities(deps: { pool: Pool }) {
  return {
    /**
     * Idempotent: a retry after a lost response finds the first row instead of writing a second.
     */
    async recordSmokeRun(input: { workflowId: string; message: string }): Promise<SmokeRun> {
      await deps.pool.query(
        'INSERT INTO smoke_runs (workflow_id, message) VALUES ($1, $2) ON CONFLICT (workflow_id) DO NOTHING',
        [input.workflowId, input.message],
      );
      const { rows } = await deps.pool.query<{ message: string; recorded_at: Date }>(
        'SELECT message, recorded_at FROM smoke_runs WHERE workflow_id = $1',
        [input.workflowId],
      );
      return {
        workflowId: input.workflowId,
        message: rows[0].message,
        recordedAt: rows[0].recorded_at.toISOString(),
      };
    },
  };
}

export type SmokeActivities = ReturnType<typeof createSmokeActivities>;
