// The audit key of what an activity records (db/audit.ts): its workflow run and its activity
// id, the same on every retry of that activity and different for any other, so a retry after the
// commit adds no second row, while a second decision (another review later in the same workflow)
// is a row of its own.
import { asyncLocalStorage } from '@temporalio/activity';

/**
 * `{action}:{workflowId}:{runId}:{activityId}` inside an activity; undefined outside one (a direct
 * call writes as before).
 */
export function activityAuditKey(action: string): string | undefined {
  const info = asyncLocalStorage.getStore()?.info;
  if (!info?.workflowExecution) return undefined;
  return `${action}:${info.workflowExecution.workflowId}:${info.workflowExecution.runId}:${info.activityId}`;
}
