// A payout run started outside the API under a name of its own: the second scheduling job of the
// incident, which the demo, the chaos suite, the benchmark and a test re-enact. Such a job holds
// the database's credentials, so it records its decision as the API does (decisions/), and the
// run takes it before paying anyone; without one, a run started by hand pays nobody.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Pool } from 'pg';
import { recordDecision } from '../decisions/operator-decisions';
import { TASK_QUEUE } from '../workflows/contracts/common';
import type { PayoutRunInput } from '../workflows/contracts/payout-run';

export async function startPayoutRunAsJob(
  pool: Pool,
  client: Client,
  run: { workflowId: string; input: PayoutRunInput; job: string },
): Promise<WorkflowHandle> {
  const decisionId = await recordDecision(pool, {
    workflowId: run.workflowId,
    kind: 'payout_run.start',
    actor: `operator:${run.job}`,
    reason: `started by the ${run.job} job`,
    payload: { loanId: run.input.loanId, installment: run.input.installment },
  });
  return client.workflow.start('payoutRunWorkflow', {
    workflowId: run.workflowId,
    taskQueue: TASK_QUEUE,
    args: [{ ...run.input, decisionId }],
  });
}
