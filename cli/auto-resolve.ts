// Resolves pending manual reviews from the gateway simulator's own record of what it executed, as a
// recorded decision (through the API, or as the API records it). For the demo and benchmarks only:
// in production the truth is the bank's statement and the decision is a person's.
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Pool } from 'pg';
import type { DemoApi } from '../demo/api';
import { recordDecision } from '../decisions/operator-decisions';
import { resolveReviewUpdate, reviewEvidenceQuery } from '../workflows/contracts/gateway-order';
import { DEFAULT_PAID_APPROVAL_ABOVE_MINOR, isDevelopmentOrTest } from '../config/env';
import { findOrder } from '../payments/orders';

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
export async function simulatorVerdict(
  simulatorUrl: string,
  orderNo: string,
): Promise<'executed' | 'not_executed' | 'not_final'> {
  const res = await fetch(`${simulatorUrl}/_sim/truth?orderNo=${encodeURIComponent(orderNo)}`);
  if (!res.ok) throw new Error(`simulator truth for ${orderNo}: HTTP ${res.status}`);
  const order = ((await res.json()) as { orders: { status: string; pending?: unknown }[] })
    .orders[0];
  if (order?.status === 'SUCCESS') return 'executed';
  if (order?.status === 'PROCESSING' && order.pending !== undefined) return 'not_final';
  return 'not_executed';
}

/** Decides one review; false when it was refused (resolved by someone else meanwhile). */
export type ReviewDecider = (
  workflowId: string,
  decision: 'paid' | 'not_paid',
  reason: string,
) => Promise<boolean>;

/** Through the API, as an operator would (the demo). */
export function apiDecider(api: DemoApi): ReviewDecider {
  return async (workflowId, decision, reason) => {
    const res = await api.call('POST', `/v1/reviews/${encodeURIComponent(workflowId)}/resolve`, {
      body: { decision, reason },
    });
    if (res.status === 409) return false;
    if (res.status !== 200)
      throw new Error(`resolve ${workflowId}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    return true;
  };
}

/**
 * Recorded in the database as the API records it, then the Update (benchmarks, which hold the
 * database's credentials). A paid above the approval threshold needs a second operator, whom a
 * benchmark has not: left undecided (false), as the workflow would refuse it.
 */
export function databaseDecider(
  pool: Pool,
  client: Client,
  actor: `operator:${string}`,
  paidApprovalAboveMinor = DEFAULT_PAID_APPROVAL_ABOVE_MINOR,
): ReviewDecider {
  return async (workflowId, decision, reason) => {
    const handle = client.workflow.getHandle(workflowId);
    if (decision === 'paid') {
      const order = await findOrder(pool, (await handle.query(reviewEvidenceQuery)).orderNo);
      if (!order || order.amountMinor > paidApprovalAboveMinor) return false;
    }
    const decisionId = await recordDecision(pool, {
      workflowId,
      kind: 'review.resolve',
      actor,
      payload: { decision },
      reason,
      ...(decision === 'paid' ? { needsApproval: false } : {}),
    });
    try {
      await handle.executeUpdate(resolveReviewUpdate, { args: [{ decisionId }] });
      return true;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) return false;
      throw err;
    }
  };
}

/** It trusts a simulator's record as the truth: nowhere but development and test. */
export function refuseOutsideDevelopment(appEnv: string | undefined): void {
  if (!isDevelopmentOrTest(appEnv)) {
    throw new Error(
      `auto-resolve decides reviews from the gateway simulator's record: refused with APP_ENV=${appEnv ?? '(unset)'} (development or test only)`,
    );
  }
}

export async function resolveReviewsFromSimulatorTruth(
  client: Client,
  simulatorUrl: string,
  decide: ReviewDecider,
  query = '',
): Promise<AutoResolveResult> {
  refuseOutsideDevelopment(process.env.APP_ENV);
  const result: AutoResolveResult = { paid: 0, notPaid: 0, waiting: 0, skipped: 0 };
  const listed = client.workflow.list({
    query: `ReviewState = 'Pending' AND ExecutionStatus = 'Running'${query ? ` AND ${query}` : ''}`,
  });
  for await (const wf of listed) {
    const handle = client.workflow.getHandle(wf.workflowId);
    const evidence = await handle.query(reviewEvidenceQuery);
    // the search attribute lags the state a little
    if (evidence.state !== 'MANUAL_REVIEW') continue;
    const verdict = await simulatorVerdict(simulatorUrl, evidence.orderNo);
    if (verdict === 'not_final') {
      result.waiting += 1;
      continue;
    }
    const paid = verdict === 'executed';
    if (
      !(await decide(
        wf.workflowId,
        paid ? 'paid' : 'not_paid',
        `the gateway's record of order ${evidence.orderNo}`,
      ))
    ) {
      result.skipped += 1;
    } else if (paid) {
      result.paid += 1;
    } else {
      result.notPaid += 1;
    }
  }
  return result;
}
