// An operator's money decision through the API: recorded first (with the key that made it and its
// audit row, decisions/operator-decisions.ts), then the workflow is told the decision's id. An
// intent the audit log names on its own (a collection requested) commits in the same transaction,
// so no crash between the record and the workflow's answer can lose it.
//
// With an Idempotency-Key, the decision is recorded under the key (api_idempotent_decisions) in
// that same transaction, and no connection is held while the workflow answers: a retry of the
// same request takes the same decision id, and the Update carries it as its Update ID, which
// Temporal deduplicates, so the retry gets the first answer. replyKeyedDecision stores the answer.
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  recordDecisionIn,
  type DecisionKind,
  type DecisionRef,
} from '../decisions/operator-decisions';
import { writeAudit } from '../db/audit';
import { inTransaction } from '../db/pool';
import type { Queryable } from '../ledger/types';
import type { AppContext } from './app';
import { actorOf } from './auth';
import { ApiError, toApiError } from './errors';
import { requestHash, storedResponse, storeResponse, validIdempotencyKey } from './idempotency';
import { sendStored } from './idempotent-route';
import { Replied } from './approval-gate';

export interface DecisionRequest {
  workflowId: string;
  kind: DecisionKind;
  payload: Record<string, unknown>;
  reason: string;
  /** The maker-checker rule's answer, kept on the row (decisions/operator-decisions.ts). */
  needsApproval?: boolean;
  /**
   * The intent's own audit row (with the decision's id in its details), written with the decision.
   */
  intent?: { action: string; subject: string };
  /**
   * What else commits with the decision, given its ref (an outbox row that delivers it even if
   * the API dies before telling the workflow).
   */
  alsoIn?: (tx: Queryable, ref: DecisionRef) => Promise<void>;
}

interface Keyed {
  scope: string;
  key: string;
  hash: string;
}

/**
 * The requests replyKeyedDecision runs under a key: only their decide() records the decision under
 * it (an Update route's).
 */
const underKey = new WeakMap<FastifyRequest, Keyed>();

/** The request's Idempotency-Key, if it sent one (checked: 400 when malformed). */
function keyedBy(request: FastifyRequest): Keyed | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  const key = validIdempotencyKey(typeof header === 'string' ? header : undefined);
  return {
    scope: request.principal.keyId,
    key,
    hash: requestHash({ method: request.method, url: request.url, body: request.body }),
  };
}

export async function decide<T>(
  context: AppContext,
  request: FastifyRequest,
  decision: DecisionRequest,
  tell: (ref: DecisionRef) => Promise<T>,
): Promise<T> {
  const { intent, alsoIn, ...d } = decision;
  const actor = actorOf(request.principal);
  const keyed = underKey.get(request);
  const decisionId = await inTransaction(context.pool, async (tx) => {
    const again = keyed && (await decisionUnderKey(tx, keyed));
    if (again) return again;
    const id = await recordDecisionIn(tx, { ...d, actor, requestId: request.id });
    if (intent)
      await writeAudit(tx, {
        actor,
        action: intent.action,
        subject: intent.subject,
        reason: d.reason,
        requestId: request.id,
        details: { decisionId: id, ...d.payload },
      });
    if (alsoIn) await alsoIn(tx, { decisionId: id });
    if (keyed) {
      await tx.query(
        'INSERT INTO api_idempotent_decisions (scope, key, request_hash, decision_id) VALUES ($1, $2, $3, $4)',
        [keyed.scope, keyed.key, keyed.hash, id],
      );
    }
    return id;
  });
  return tell({ decisionId });
}

/**
 * The decision a first request with this key recorded (concurrent duplicates wait for its
 * transaction), or 422 for another request under it.
 */
async function decisionUnderKey(tx: Queryable, k: Keyed): Promise<string | undefined> {
  await tx.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('decision ' || $1 || ' ' || $2, 0))`,
    [k.scope, k.key],
  );
  const {
    rows: [row],
  } = await tx.query<{ request_hash: string; decision_id: string }>(
    'SELECT request_hash, decision_id FROM api_idempotent_decisions WHERE scope = $1 AND key = $2',
    [k.scope, k.key],
  );
  if (row && row.request_hash !== k.hash)
    throw new ApiError(
      422,
      'IDEMPOTENCY_KEY_REUSED',
      'this Idempotency-Key was used with a different request',
    );
  return row?.decision_id;
}

/** A handler's result: a body for 200, or a Replied with its own status (a held decision's 202). */
function answerOf(result: unknown): { statusCode: number; body: unknown } {
  return result instanceof Replied
    ? { statusCode: result.statusCode, body: result.body }
    : { statusCode: 200, body: result };
}

/**
 * Runs a decision route's handler and, when the request sent an Idempotency-Key, replays a stored
 * answer instead, or stores this one (success or refusal; a 5xx stores nothing, so a retry runs
 * again with the same decision). The handler's decide() holds no connection while the workflow
 * answers.
 */
export async function replyKeyedDecision(
  context: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  handler: () => Promise<unknown>,
): Promise<FastifyReply> {
  const keyed = keyedBy(request);
  if (!keyed) {
    const { statusCode, body } = answerOf(await handler());
    return reply.status(statusCode).send(body);
  }
  underKey.set(request, keyed);
  const stored = await storedResponse(context.pool, keyed.scope, keyed.key, keyed.hash);
  if (stored) return sendStored(context, reply, stored);
  let answer: { statusCode: number; body: unknown };
  try {
    answer = answerOf(await handler());
  } catch (err) {
    const refusal = toApiError(err);
    if (!refusal || refusal.statusCode >= 500) throw err;
    answer = {
      statusCode: refusal.statusCode,
      body: { error: { code: refusal.code, message: refusal.message, details: refusal.details } },
    };
  }
  if (
    !(await storeResponse(context.pool, keyed.scope, keyed.key, keyed.hash, answer, {
      ifAbsent: true,
    }))
  ) {
    // A concurrent duplicate stored its answer first: the same one, sent as stored.
    const first = await storedResponse(context.pool, keyed.scope, keyed.key, keyed.hash);
    if (first) return sendStored(context, reply, first);
  }
  return reply.status(answer.statusCode).send(answer.body);
}
