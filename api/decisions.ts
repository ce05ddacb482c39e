// An operator's money decision through the API: recorded first (with the key that made it and its
// audit row, decisions/operator-decisions.ts), then the workflow is told the decision's id.
import type { FastifyRequest } from 'fastify';
import { recordDecision, type DecisionKind, type DecisionRef } from '../decisions/operator-decisions';
import type { AppContext } from './app';
import { actorOf } from './auth';

export async function decide<T>(
  context: AppContext,
  request: FastifyRequest,
  decision: { workflowId: string; kind: DecisionKind; payload: Record<string, unknown>; reason: string },
  tell: (ref: DecisionRef) => Promise<T>,
): Promise<T> {
  const decisionId = await recordDecision(context.pool, { ...decision, actor: actorOf(request.principal), requestId: request.id });
  return tell({ decisionId });
}
