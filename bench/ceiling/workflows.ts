// The bare Temporal ceiling: an empty workflow that runs one no-op activity. Bundled and run by
// the benchmarks only, on a task queue of their own.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

export async function ceilingWorkflow(): Promise<void> {
  await noop();
}
