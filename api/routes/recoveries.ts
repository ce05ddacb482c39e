// Recoveries (API.md): operators see all, an investor their own; a write-off goes through the
// recovery workflow's writeOff update.
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { documentedList, documentedObject } from '../contract';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { formatAmount } from '../../ledger/money';
import { DEFAULT_CURRENCY } from '../../ledger/currency';
import { parseAmount } from '../../ledger/money';
import { getRecovery, listRecoveries, type Recovery } from '../../payments/recoveries';
import {
  collectionRequestedSignal,
  requestCollectionUpdate,
  writeOffUpdate,
} from '../../workflows/contracts/recovery';
import { enqueueSignal } from '../../outbox/enqueue';
import type { Queryable } from '../../ledger/types';
import type { DecisionRef } from '../../decisions/operator-decisions';
import { newIds } from '../../ids/new-ids';
import type { AppContext } from '../app';
import { HELD_FIELDS, holdForApproval, holdIn } from '../approval-gate';
import { requireOwner, requireRole } from '../auth';
import { decide, replyKeyedDecision } from '../decisions';
import { ApiError } from '../errors';
import { replyIdempotent } from '../idempotent-route';
import {
  AMOUNT,
  AUTH_ERRORS,
  DECISION_IDEMPOTENCY_HEADERS,
  ERROR_RESPONSE,
  IDEMPOTENCY_HEADERS,
  PARTY_ID,
} from '../schemas';
import { refusalMessage, temporalOf } from '../temporal';
import { workflowIds } from '../../ids/workflow-ids';
import { requireParty } from '../require-party';

const ID_PARAMS = { type: 'object', properties: { id: PARTY_ID }, required: ['id'] } as const;
/** An operator's decision on a recovery: a reason in, the recovery out. */
const DECISION_SCHEMA = {
  params: ID_PARAMS,
  headers: DECISION_IDEMPOTENCY_HEADERS,
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['reason'],
    properties: { reason: { type: 'string', minLength: 3, maxLength: 500 } },
  },
  response: {
    200: { type: 'object', additionalProperties: true },
    ...AUTH_ERRORS,
    409: ERROR_RESPONSE,
    503: ERROR_RESPONSE,
  },
} as const;

const RECOVERY_FIELDS = {
  id: 'rc-…',
  investorId: 'who owes it',
  state: 'OFFSETTING, REQUESTED, RECOVERED, WRITTEN_OFF',
  currency: 'ISO 4217',
  owed: 'amount',
  recovered: 'amount',
  writtenOff: 'amount',
  outstanding: 'amount',
  exceptionId: 'the exception it came from, or null',
  reason: 'why',
  openedBy: 'who opened it',
  createdAt: 'ISO time',
  closedAt: 'ISO time or null',
  workflowId: 'recovery-{id}',
};

function view(r: Recovery) {
  const fmt = (minor: bigint) => formatAmount(minor, r.currency);
  return {
    id: r.id,
    investorId: r.investorId,
    state: r.state,
    currency: r.currency,
    owed: fmt(r.amountMinor),
    recovered: fmt(r.recoveredMinor),
    writtenOff: fmt(r.writtenOffMinor),
    outstanding: fmt(r.amountMinor - r.recoveredMinor - r.writtenOffMinor),
    exceptionId: r.exceptionId,
    reason: r.reason,
    openedBy: r.openedBy,
    createdAt: r.createdAt.toISOString(),
    closedAt: r.closedAt?.toISOString() ?? null,
    workflowId: workflowIds.recovery(r.id),
  };
}

export function registerRecoveryRoutes(app: FastifyInstance, context: AppContext): void {
  registerOpenRecoveryRoute(app, context);
  registerRecoveryListRoute(app, context);
  registerRecoveryReadRoute(app, context);
  registerRequestCollectionRoute(app, context);
  registerWriteOffRoute(app, context);
}

function registerOpenRecoveryRoute(app: FastifyInstance, context: AppContext): void {
  app.post<{ Body: { investorId: string; amount: string; reason: string } }>(
    '/v1/recoveries',
    {
      schema: {
        summary:
          'open a recovery by hand (money paid that was not owed, found other than by reconciliation)',
        headers: IDEMPOTENCY_HEADERS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['investorId', 'amount', 'reason'],
          properties: {
            investorId: PARTY_ID,
            amount: AMOUNT,
            reason: { type: 'string', minLength: 3, maxLength: 500 },
          },
        },
        response: {
          202: documentedObject(
            'held for a second operator: it opens when approved (POST /v1/approvals/{id}/approve)',
            HELD_FIELDS,
          ),
          ...AUTH_ERRORS,
          409: ERROR_RESPONSE,
          422: ERROR_RESPONSE,
        },
      },
    },
    async (request, reply) => {
      requireRole(request.principal, ['operator', 'admin']);
      const amountMinor = parseAmount(request.body.amount, DEFAULT_CURRENCY);
      return replyIdempotent(context, request, reply, async (tx) => {
        await requireParty(tx, request.body.investorId, 'investor');
        // Opened only once a second operator approves it (api/approval-actions.ts), under this id.
        const recoveryId = newIds.manualRecovery();
        const held = await holdIn(tx, request, {
          workflowId: workflowIds.recovery(recoveryId),
          action: 'recovery.open',
          amountMinor,
          payload: {
            recoveryId,
            investorId: request.body.investorId,
            amount: request.body.amount,
            currency: DEFAULT_CURRENCY,
          },
          reason: request.body.reason,
        });
        return { statusCode: held.statusCode, body: held.body };
      });
    },
  );
}

function registerRecoveryListRoute(app: FastifyInstance, { pool }: AppContext): void {
  app.get<{ Querystring: { open?: boolean } }>(
    '/v1/recoveries',
    {
      schema: {
        summary: 'recoveries, newest first: all for operators, their own for an investor',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { open: { type: 'string', enum: ['true', 'false'] } },
        },
        response: { 200: documentedList('recoveries', RECOVERY_FIELDS), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      requireRole(request.principal, ['investor', 'operator', 'admin']);
      const investorId =
        request.principal.role === 'investor' ? request.principal.partyId : undefined;
      const open =
        request.query.open === undefined ? undefined : String(request.query.open) === 'true';
      return (await listRecoveries(pool, { investorId, open }, 200)).map(view);
    },
  );
}

function registerRecoveryReadRoute(app: FastifyInstance, { pool }: AppContext): void {
  app.get<{ Params: { id: string } }>(
    '/v1/recoveries/:id',
    {
      schema: {
        summary: 'a recovery: owed, recovered, state',
        params: ID_PARAMS,
        response: { 200: documentedObject('a recovery', RECOVERY_FIELDS), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      requireRole(request.principal, ['investor', 'operator', 'admin']);
      const r = await getRecovery(pool, request.params.id);
      if (!r) throw new ApiError(404, 'NOT_FOUND', 'not found');
      requireOwner(request.principal, r.investorId);
      return view(r);
    },
  );
}

/**
 * Records the decision, then runs the recovery workflow's update with its id; refusals become
 * 409s.
 */
async function decideRecovery(
  context: AppContext,
  request: FastifyRequest,
  id: string,
  kind: 'recovery.request_collection',
  update: typeof requestCollectionUpdate,
  reason: string,
): Promise<string> {
  const workflowId = workflowIds.recovery(id);
  // A collection request's audit row commits with the request, and so does its delivery: the
  // outbox signals it to the workflow even if this process dies before its Update (the workflow
  // takes the decision once, whichever comes first).
  const intent = { action: 'recovery.collection_requested', subject: id };
  const alsoIn = (tx: Queryable, ref: DecisionRef) =>
    enqueueSignal(tx, workflowId, collectionRequestedSignal, [ref], { dropIfClosed: true });
  return tellRecovery(context, id, update, (tell) =>
    decide(context, request, { workflowId, kind, reason, payload: {}, intent, alsoIn }, tell),
  );
}

/**
 * Runs a recorded decision's Update on the recovery workflow (`send` records it and calls `tell`
 * with its ref); refusals become 409s. Also what an approved write-off runs.
 */
export async function tellRecovery(
  context: AppContext,
  id: string,
  update: typeof writeOffUpdate,
  send: (tell: (ref: DecisionRef) => Promise<string>) => Promise<string>,
): Promise<string> {
  const handle = temporalOf(context).workflow.getHandle(workflowIds.recovery(id));
  try {
    return await send((ref) =>
      handle.executeUpdate(update, { args: [ref], updateId: ref.decisionId }),
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new ApiError(
        409,
        'RECOVERY_NOT_STARTED',
        'its workflow has not started yet: try again in a moment',
      );
    if (err instanceof WorkflowUpdateFailedError)
      throw new ApiError(409, 'REFUSED', refusalMessage(err));
    throw err;
  }
}

/** A recovery as the API shows it, with the state its workflow answered when given. */
export async function recoveryAfter(context: AppContext, id: string, state?: string) {
  return {
    ...view((await getRecovery(context.pool, id)) as Recovery),
    ...(state ? { state } : {}),
  };
}

function registerRequestCollectionRoute(app: FastifyInstance, context: AppContext): void {
  const { pool } = context;
  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/v1/recoveries/:id/request-collection',
    {
      schema: {
        summary:
          'ask the investor to pay it back: a collection from their bank account through the gateway (REQUESTED)',
        ...DECISION_SCHEMA,
      },
    },
    async (request, reply) =>
      replyKeyedDecision(context, request, reply, async () => {
        requireRole(request.principal, ['operator', 'admin']);
        const recovery = await getRecovery(pool, request.params.id);
        if (!recovery) throw new ApiError(404, 'NOT_FOUND', 'not found');
        const { rows } = await pool.query('SELECT verified_account_of($1, 0) IS NOT NULL AS has', [
          recovery.investorId,
        ]);
        if (!rows[0]?.has)
          throw new ApiError(
            409,
            'NO_BANK_ACCOUNT',
            `${recovery.investorId} has no verified bank account on file to collect from`,
          );
        const state = await decideRecovery(
          context,
          request,
          request.params.id,
          'recovery.request_collection',
          requestCollectionUpdate,
          request.body.reason,
        );
        return recoveryAfter(context, request.params.id, state);
      }),
  );
}

function registerWriteOffRoute(app: FastifyInstance, context: AppContext): void {
  const { pool } = context;
  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/v1/recoveries/:id/write-off',
    {
      schema: {
        summary:
          'give up what is still owed, with a reason (posted to platform:write-offs once a second operator approves)',
        ...DECISION_SCHEMA,
        response: {
          ...DECISION_SCHEMA.response,
          202: documentedObject(
            'held for a second operator (POST /v1/approvals/{id}/approve)',
            HELD_FIELDS,
          ),
        },
      },
    },
    async (request, reply) =>
      replyKeyedDecision(context, request, reply, async () => {
        requireRole(request.principal, ['operator', 'admin']);
        const recovery = await getRecovery(pool, request.params.id);
        if (!recovery) throw new ApiError(404, 'NOT_FOUND', 'not found');
        if (recovery.state === 'RECOVERED' || recovery.state === 'WRITTEN_OFF')
          throw new ApiError(
            409,
            'REFUSED',
            `nothing to decide: the recovery is ${recovery.state}`,
          );
        // Written off only once a second operator approves it (api/approval-actions.ts); the
        // write-off's audit row is written with it, in its transaction (payments/recoveries.ts).
        return holdForApproval(context, request, {
          workflowId: workflowIds.recovery(recovery.id),
          action: 'recovery.write_off',
          amountMinor: recovery.amountMinor - recovery.recoveredMinor - recovery.writtenOffMinor,
          payload: { recoveryId: recovery.id, currency: recovery.currency },
          reason: request.body.reason,
        });
      }),
  );
}
