import { proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { SmokeActivities, SmokeRun } from '../activities/smoke';
import { SMOKE_OPTIONS } from './retry-policies';

const { recordSmokeRun } = proxyActivities<SmokeActivities>(SMOKE_OPTIONS);

export interface SmokeInput {
  message: string;
  /** How long to wait before writing: '30 days' in tests proves timers are skipped. */
  wait: Duration;
}

/** Proves the plumbing: a durable timer, then an activity that writes one row to Postgres. */
export async function smokeWorkflow(input: SmokeInput): Promise<SmokeRun> {
  await sleep(input.wait);
  return recordSmokeRun({ workflowId: workflowInfo().workflowId, message: input.message });
}
