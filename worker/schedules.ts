// The Temporal Schedules the platform relies on, created when the worker starts (idempotently:
// one that exists is left as it is, and stays visible and editable in the Web UI's Schedules).
import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';
import { TASK_QUEUE } from '../workflows/contracts/common';
import type { ReconciliationInput } from '../workflows/contracts/reconciliation';
import { workflowIds } from '../ids/workflow-ids';

/** Every day at 00:30 UTC, reconcile the channel's previous day (the workflow picks the date). */
export async function ensureDailyReconciliation(
  client: Client,
  channel: string,
): Promise<'created' | 'exists'> {
  const input: ReconciliationInput = { channel };
  try {
    await client.schedule.create({
      scheduleId: workflowIds.reconciliationSchedule(channel),
      spec: {
        calendars: [{ hour: 0, minute: 30, comment: "yesterday's statement is final by then" }],
      },
      action: {
        type: 'startWorkflow',
        workflowType: 'reconciliationWorkflow',
        args: [input],
        taskQueue: TASK_QUEUE,
        workflowId: workflowIds.reconciliationSchedule(channel),
      },
      memo: { purpose: `reconcile gateway channel ${channel} against the ledger, daily` },
    });
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}

/**
 * Every hour, prune the stored Idempotency-Key responses past their retention
 * (activities/housekeeping.ts).
 */
export async function ensureIdempotencyPruning(client: Client): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId: workflowIds.idempotencyPruneSchedule(),
      spec: { intervals: [{ every: '1 hour' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'idempotencyPruneWorkflow',
        args: [],
        taskQueue: TASK_QUEUE,
        workflowId: workflowIds.idempotencyPruneSchedule(),
      },
      memo: {
        purpose:
          'delete stored Idempotency-Key responses older than IDEMPOTENCY_RETENTION_HOURS, hourly',
      },
    });
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}
