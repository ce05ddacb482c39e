// A payout run requested by an operator: the decision, its audit row and the run's start commit in
// one transaction, and the outbox dispatcher starts the run (the pattern of every other start), so
// a crash after the request can neither lose the audit row nor leave a recorded run unstarted.
// The run takes the decision before it pays anyone (workflows/payout-run.ts); a repeat request
// reaches the same run (deterministic id, REJECT_DUPLICATE), whose second decision is never taken.
import type { Pool } from 'pg';
import type { Queryable } from '../ledger/types';
import { enqueueStart } from '../outbox/enqueue';
import { recordDecisionIn } from '../decisions/operator-decisions';
import { workflowIds } from '../ids/workflow-ids';
import { writeAudit } from '../db/audit';
import { inTransaction } from '../db/pool';
import type { PayoutRunInput } from '../workflows/contracts/payout-run';

export interface PayoutRunRequest {
  loanId: string;
  installment: number;
  /** The key that asked: `operator:<key id>` or `admin:<key id>`. */
  actor: string;
  requestId?: string;
  reason?: string;
  /** The approval that let it start, and its checker (maker-checker). */
  approval?: { approvalId: string; approvedBy: string };
}

export async function requestPayoutRun(
  pool: Pool,
  r: PayoutRunRequest,
): Promise<{ workflowId: string; decisionId: string }> {
  return inTransaction(pool, (tx) => requestPayoutRunIn(tx, r));
}

/** The same, in the caller's transaction (the approval that carries it out). */
export async function requestPayoutRunIn(
  tx: Queryable,
  r: PayoutRunRequest,
): Promise<{ workflowId: string; decisionId: string }> {
  const workflowId = workflowIds.payoutRun(r.loanId, r.installment);
  const decisionId = await recordDecisionIn(tx, {
    workflowId,
    kind: 'payout_run.start',
    actor: r.actor,
    requestId: r.requestId,
    reason: r.reason ?? 'payout run started through the API',
    payload: { loanId: r.loanId, installment: r.installment, ...r.approval },
  });
  await writeAudit(tx, {
    actor: r.actor,
    action: 'payout_run.started',
    subject: workflowId,
    requestId: r.requestId,
    details: { decisionId, ...r.approval },
  });
  const input: PayoutRunInput = { loanId: r.loanId, installment: r.installment, decisionId };
  await enqueueStart(tx, 'payoutRunWorkflow', workflowId, input);
  return { workflowId, decisionId };
}
