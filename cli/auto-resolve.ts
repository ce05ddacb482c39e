// Resolves pending manual reviews from the gateway simulator's own record of what it executed,
// through the same resolveReview update an operator uses. For the demo and benchmarks only: in
// production the truth is the bank's statement and the decision is a person's.
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { resolveReviewUpdate, reviewEvidenceQuery } from '../workflows/shared';

export interface AutoResolveResult {
  paid: number;
  notPaid: number;
  /** The gateway has not finished the order yet: decided on a later pass, never guessed. */
  waiting: number;
  /** Already resolved by someone else between the listing and the update. */
  skipped: number;
}

/**
 * What the simulator's record (GET /_sim/truth) says of an order: executed, never executed (no
 * record, failed, or stuck in PROCESSING for good), or not final yet (PROCESSING with an outcome
 * still to come: deciding now could void a payout the gateway is about to execute).
 */
export async function simulatorVerdict(simulatorUrl: string, orderNo: string): Promise<'executed' | 'not_executed' | 'not_final'> {
  const res = await fetch(`${simulatorUrl}/_sim/truth?orderNo=${encodeURIComponent(orderNo)}`);
  if (!res.ok) throw new Error(`simulator truth for ${orderNo}: HTTP ${res.status}`);
  const order = ((await res.json()) as { orders: { status: string; pending?: unknown }[] }).orders[0];
  if (order?.status === 'SUCCESS') return 'executed';
  if (order?.status === 'PROCESSING' && order.pending !== undefined) return 'not_final';
  return 'not_executed';
}

export async function resolveReviewsFromSimulatorTruth(client: Client, simulatorUrl: string, operator: string, query = ''): Promise<AutoResolveResult> {
  const result: AutoResolveResult = { paid: 0, notPaid: 0, waiting: 0, skipped: 0 };
  const listed = client.workflow.list({ query: `ReviewState = 'Pending' AND ExecutionStatus = 'Running'${query ? ` AND ${query}` : ''}` });
  for await (const wf of listed) {
    const handle = client.workflow.getHandle(wf.workflowId);
    const evidence = await handle.query(reviewEvidenceQuery);
    if (evidence.state !== 'MANUAL_REVIEW') continue; // the search attribute lags the state a little
    const verdict = await simulatorVerdict(simulatorUrl, evidence.orderNo);
    if (verdict === 'not_final') {
      result.waiting += 1;
      continue;
    }
    const paid = verdict === 'executed';
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
