// An operator's money decision through the API: recorded first (with the key that made it and its
// audit row, decisions/operator-decisions.ts), then the workflow is told the decision's id. An
// intent the audit log names on its own (a collection requested) commits in the same transaction,
// so no crash between the record and the workflow's answer can lose it.
import type { FastifyRequest } from 'fastify';
import { recordDecisionIn, type DecisionKind, type DecisionRef } from '../decisions/operator-decisions';
import { writeAudit } from '../ledger/audit';
import { inTransaction } from '../ledger/db';
import type { AppContext } from './app';
import { actorOf } from './auth';

export interface DecisionRequest {
  workflowId: string;
  kind: DecisionKind;
  payload: Record<string, unknown>;
  reason: string;
  /** The intent's own audit row (with the decision's id in its details), written with the decision. */
  intent?: { action: string; subject: string };
}

export async function decide<T>(context: AppContext, request: FastifyRequest, decision: DecisionRequest, tell: (ref: DecisionRef) => Promise<T>): Promise<T> {
  const { intent, ...d } = decision;
  const actor = actorOf(request.principal);
  const decisionId = await inTransaction(context.pool, async (tx) => {
    const id = await recordDecisionIn(tx, { ...d, actor, requestId: request.id });
    if (intent) await writeAudit(tx, { actor, action: intent.action, subject: intent.subject, reason: d.reason, requestId: request.id, details: { decisionId: id, ...d.payload } });
    return id;
  });
  return tell({ decisionId });
}
