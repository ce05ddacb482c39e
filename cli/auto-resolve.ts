// Resolves pending manual reviews from the gateway simulator's own record of what it executed,
// through the same resolveReview update an operator uses. For the demo and benchmarks only: in
// production the truth is the bank's statement and the decision is a person's.
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { resolveReviewUpdate, reviewEvidenceQuery } from '../workflows/shared';

export interface AutoResolveResult {
  paid: number;
  notPaid: number;
  /** Already resolved by someone else between the listing and the update. */
  skipped: number;
}

/** The simulator's status of an order (GET /_sim/truth), or undefined when it never received it. */
export async function simulatorOrderStatus(simulatorUrl: string, orderNo: string): Promise<string | undefined> {
  const res = await fetch(`${simulatorUrl}/_sim/truth?orderNo=${encodeURIComponent(orderNo)}`);
  if (!res.ok) throw new Error(`simulator truth for ${orderNo}: HTTP ${res.status}`);
  const body = (await res.json()) as { orders: { status: string }[] };
  return body.orders[0]?.status;
}

export async function resolveReviewsFromSimulatorTruth(client: Client, simulatorUrl: string, operator: string, query = ''): Promise<AutoResolveResult> {
  const result: AutoResolveResult = { paid: 0, notPaid: 0, skipped: 0 };
  const listed = client.workflow.list({ query: `ReviewState = 'Pending' AND ExecutionStatus = 'Running'${query ? ` AND ${query}` : ''}` });
  for await (const wf of listed) {
    const handle = client.workflow.getHandle(wf.workflowId);
    const evidence = await handle.query(reviewEvidenceQuery);
    if (evidence.state !== 'MANUAL_REVIEW') continue; // the search attribute lags the state a little
    const paid = (await simulatorOrderStatus(simulatorUrl, evidence.orderNo)) === 'SUCCESS';
    try {
      await handle.executeUpdate(resolveReviewUpdate, {
        args: [{ decision: paid ? 'paid' : 'not_paid', reason: `the gateway's record of order ${evidence.orderNo}`, operator }],
      });
      if (paid) result.paid += 1;
      else result.notPaid += 1;
    } catch (err) {
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
      result.skipped += 1;
    }
  }
  return result;
}
