// Reconciliation (API.md): start or re-run a day, read it, and resolve its exceptions one by one
// through the workflow's resolveException update (the same the CLI and the Web UI use).
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { documentedObject } from '../contract';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { formatAmount } from '../../ledger/money';
import { reconRunId } from '../../reconciliation/statement';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import {
  rematchSignal,
  resolveExceptionUpdate,
  type ExceptionAction,
  type ReconciliationInput,
  type ReconSummary,
} from '../../workflows/contracts/reconciliation';
import type { DecisionRef } from '../../decisions/operator-decisions';
import type { AppContext } from '../app';
import { HELD_FIELDS, holdForApproval } from '../approval-gate';
import { requireRole } from '../auth';
import { decide, replyKeyedDecision } from '../decisions';
import { ApiError } from '../errors';
import { AUTH_ERRORS, DECISION_IDEMPOTENCY_HEADERS, ERROR_RESPONSE, PARTY_ID } from '../schemas';
import { refusalMessage, temporalOf } from '../temporal';
import { workflowIds } from '../../ids/workflow-ids';

const CHANNEL = { type: 'string', pattern: '^[a-z0-9-]{1,32}$' } as const;
const DATE = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
const DAY_PARAMS = {
  type: 'object',
  properties: { channel: CHANNEL, date: DATE },
  required: ['channel', 'date'],
} as const;

function validDate(date: string): void {
  const parsed = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(parsed.getTime()) || !parsed.toISOString().startsWith(date))
    throw new ApiError(400, 'INVALID_DATE', `no such day: ${date}`);
  if (parsed.getTime() > Date.now())
    throw new ApiError(400, 'INVALID_DATE', 'a day in the future has no statement yet');
}

export function registerReconciliationRoutes(app: FastifyInstance, context: AppContext): void {
  registerStartReconciliationRoute(app, context);
  registerReconciledDayRoute(app, context);
  registerResolveExceptionRoute(app, context);
}

function registerStartReconciliationRoute(app: FastifyInstance, context: AppContext): void {
  app.post<{ Body: { channel: string; date: string; rerun?: boolean } }>(
    '/v1/reconciliations',
    {
      schema: {
        summary:
          "reconcile a channel's day; a repeat returns the same run; `rerun: true` fetches and matches the day again (same exceptions, no copies)",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['channel', 'date'],
          properties: { channel: CHANNEL, date: DATE, rerun: { type: 'boolean' } },
        },
        response: {
          202: {
            type: 'object',
            properties: { workflowId: { type: 'string' }, started: { type: 'boolean' } },
          },
          ...AUTH_ERRORS,
          503: ERROR_RESPONSE,
        },
      },
    },
    async (request, reply) => {
      requireRole(request.principal, ['operator', 'admin']);
      validDate(request.body.date);
      const workflowId = workflowIds.reconciliation(request.body.channel, request.body.date);
      const input: ReconciliationInput = { channel: request.body.channel, date: request.body.date };
      const started = await startOrRematch(
        temporalOf(context),
        workflowId,
        input,
        request.body.rerun === true,
      );
      return reply.status(202).send({ workflowId, started });
    },
  );
}

/**
 * Starts the day's run, or finds it open: a re-run then fetches and matches the day again in the
 * same run. An open run that ends between the two (chaos seed 310: the signal found it completed, a
 * 500) is started anew, as a re-run of a closed day is. Whether a new run started.
 */
export async function startOrRematch(
  temporal: Client,
  workflowId: string,
  input: ReconciliationInput,
  rerun: boolean,
): Promise<boolean> {
  for (let tries = 1; ; tries++) {
    try {
      await temporal.workflow.start('reconciliationWorkflow', {
        workflowId,
        taskQueue: TASK_QUEUE,
        args: [input],
        workflowIdReusePolicy: rerun
          ? WorkflowIdReusePolicy.ALLOW_DUPLICATE
          : WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
      return true;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    if (!rerun) return false;
    try {
      await temporal.workflow.getHandle(workflowId).signal(rematchSignal);
      return false;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) || tries >= 3) throw err;
    }
  }
}

function registerReconciledDayRoute(app: FastifyInstance, { pool }: AppContext): void {
  app.get<{ Params: { channel: string; date: string } }>(
    '/v1/reconciliations/:channel/:date',
    {
      schema: {
        summary: 'a reconciled day: state, counts and amounts both ways, exceptions by class',
        description:
          'state: FETCHED, MATCHED, PENDING (no exception open, but a line waits), EXCEPTIONS or CLEAN. Each line of `exceptions` has a status: ' +
          "OPEN (an operator's work item), PENDING (not an exception yet: class IN_FLIGHT, our order is still being settled, or UNKNOWN, the gateway could not say; " +
          "looked at again on the next run of the day, never resolvable), RESOLVED (an operator's decision) or CLEARED (no longer applies: found accounted for " +
          'by a re-match or at resolution; audited, nothing posted).',
        params: DAY_PARAMS,
        response: {
          200: documentedObject('a reconciled day', {
            workflowId: 'recon-{channel}-{date}',
            channel: 'the gateway channel',
            date: 'YYYY-MM-DD (UTC)',
            state: 'FETCHED, MATCHED, PENDING, EXCEPTIONS or CLEAN',
            matched: 'lines matched',
            matchedAt: 'ISO time',
            exceptionsByClass: '{class: count}',
            openExceptions: 'count',
            pendingLines: 'count',
            exceptions: '[{id, class, orderNo, kind, partyId, status, ...}]',
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      requireRole(request.principal, ['operator', 'admin']);
      return readReconciledDay(pool, request.params.channel, request.params.date);
    },
  );
}

/** A reconciled day: its run's counts and amounts, and every exception line, formatted. */
async function readReconciledDay(pool: Pool, channel: string, date: string) {
  const id = reconRunId(channel, date);
  const {
    rows: [run],
  } = await pool.query('SELECT * FROM recon_runs WHERE id = $1', [id]);
  if (!run) throw new ApiError(404, 'NOT_FOUND', 'this day has not been reconciled');
  const { rows: exceptions } = await pool.query(
    `SELECT e.id::text, e.class, e.order_no, e.kind, e.ours_minor::text, e.theirs_minor::text, e.party_id, e.detail, e.status, e.resolution,
          e.resolved_by, e.reason, e.recovery_id, e.resolved_at, e.cleared_at, coalesce(l.currency, e.detail->>'oursCurrency', 'CNY') AS currency
   FROM recon_exceptions e LEFT JOIN LATERAL (SELECT currency FROM recon_statement_lines WHERE run_id = e.run_id AND order_no = e.order_no LIMIT 1) l ON true
   WHERE e.run_id = $1 ORDER BY e.id`,
    [id],
  );
  const fmt = (minor: string | null, currency: string) =>
    minor === null ? null : formatAmount(BigInt(minor), currency);
  return {
    workflowId: workflowIds.reconciliation(run.channel, date),
    channel: run.channel,
    date,
    state: run.state,
    ours: { count: run.ours_count, amount: formatAmount(BigInt(run.ours_minor), 'CNY') },
    theirs: { count: run.theirs_count, amount: formatAmount(BigInt(run.theirs_minor), 'CNY') },
    matched: run.matched,
    matchedAt: run.matched_at,
    exceptionsByClass: countByClass(exceptions),
    openExceptions: exceptions.filter((e) => e.status === 'OPEN').length,
    pendingLines: exceptions.filter((e) => e.status === 'PENDING').length,
    exceptions: exceptions.map((e) => ({
      id: e.id,
      class: e.class,
      orderNo: e.order_no,
      kind: e.kind,
      ours: fmt(e.ours_minor, e.currency),
      theirs: fmt(e.theirs_minor, e.currency),
      partyId: e.party_id,
      detail: e.detail,
      status: e.status,
      resolution: e.resolution,
      resolvedBy: e.resolved_by,
      reason: e.reason,
      recoveryId: e.recovery_id,
      resolvedAt: e.resolved_at,
      clearedAt: e.cleared_at,
    })),
  };
}

/** Each exception class's lines: all of them, the open ones and the pending ones. */
function countByClass(exceptions: { class: string; status: string }[]) {
  const byClass: Record<string, { count: number; open: number; pending: number }> = {};
  for (const e of exceptions) {
    byClass[e.class] ??= { count: 0, open: 0, pending: 0 };
    byClass[e.class].count += 1;
    if (e.status === 'OPEN') byClass[e.class].open += 1;
    if (e.status === 'PENDING') byClass[e.class].pending += 1;
  }
  return byClass;
}

const RESOLVE_EXCEPTION_SCHEMA = {
  summary:
    "resolve one exception: adjust (correct the clearing account), recover (open a recovery), or accept (the gateway's error)",
  description:
    'What adjust and recover post is re-derived from the ledger and the gateway when the decision commits. An order already accounted for ' +
    'posts nothing: the exception is CLEARED (status in the answer), audited. A PENDING line, an order still in flight, or an exception no longer open is refused (409).',
  params: {
    type: 'object',
    properties: {
      channel: CHANNEL,
      date: DATE,
      id: { type: 'string', pattern: '^[0-9]{1,18}$' },
    },
    required: ['channel', 'date', 'id'],
  },
  headers: DECISION_IDEMPOTENCY_HEADERS,
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['action', 'reason'],
    properties: {
      action: { type: 'string', enum: ['adjust', 'recover', 'accept'] },
      reason: { type: 'string', minLength: 3, maxLength: 500 },
      investorId: PARTY_ID,
    },
  },
  response: {
    200: documentedObject('the resolved exception and its day', {
      exceptionId: 'its id',
      action: 'adjust, recover or accept',
      status: 'RESOLVED or CLEARED',
      day: "the day's summary after it",
    }),
    202: documentedObject(
      'an adjust or a recover: held for a second operator (POST /v1/approvals/{id}/approve)',
      HELD_FIELDS,
    ),
    ...AUTH_ERRORS,
    409: ERROR_RESPONSE,
    503: ERROR_RESPONSE,
  },
};

function registerResolveExceptionRoute(app: FastifyInstance, context: AppContext): void {
  app.post<{
    Params: { channel: string; date: string; id: string };
    Body: { action: ExceptionAction; reason: string; investorId?: string };
  }>(
    '/v1/reconciliations/:channel/:date/exceptions/:id/resolve',
    {
      schema: RESOLVE_EXCEPTION_SCHEMA,
    },
    async (request, reply) => {
      requireRole(request.principal, ['operator', 'admin']);
      return replyKeyedDecision(context, request, reply, async () => {
        const { channel, date, id: exceptionId } = request.params;
        const workflowId = workflowIds.reconciliation(channel, date);
        const { action, reason, investorId } = request.body;
        // An adjustment posts the difference to the ledger, a recovery opens against an investor:
        // either waits for a second operator.
        if (action === 'adjust' || action === 'recover')
          return holdForApproval(context, request, {
            workflowId,
            action: `exception.${action}`,
            amountMinor: await openExceptionDifference(context, request.params, action, investorId),
            payload: { channel, date, exceptionId, action, ...(investorId ? { investorId } : {}) },
            reason,
          });
        // Recorded with this key first; the workflow reads it by its id. The effect's audit row
        // is written with it, in its transaction (reconciliation/resolve.ts).
        return tellException(context, { channel, date, exceptionId, action }, (tell) =>
          decide(
            context,
            request,
            {
              workflowId,
              kind: 'exception.resolve',
              reason,
              payload: { exceptionId, action, ...(investorId ? { investorId } : {}) },
            },
            tell,
          ),
        );
      });
    },
  );
}

/**
 * The open exception's difference between the two sides (minor units), what an adjustment would
 * post; 404 or 409 (and nothing held) for one the day would refuse on its face.
 */
async function openExceptionDifference(
  { pool }: AppContext,
  p: { channel: string; date: string; id: string },
  action: 'adjust' | 'recover',
  investorId: string | undefined,
): Promise<bigint> {
  const {
    rows: [e],
  } = await pool.query<{
    status: string;
    class: string;
    kind: string;
    ours: string | null;
    theirs: string | null;
    investor: string | null;
  }>(
    `SELECT e.status, e.class, e.kind, e.ours_minor::text AS ours, e.theirs_minor::text AS theirs,
       (SELECT id FROM parties WHERE id = coalesce($4, e.party_id) AND kind = 'investor') AS investor
     FROM recon_exceptions e JOIN recon_runs r ON r.id = e.run_id
     WHERE e.id = $1 AND r.channel = $2 AND r.day = $3::date`,
    [p.id, p.channel, p.date, investorId ?? null],
  );
  if (!e) throw new ApiError(404, 'NOT_FOUND', 'no such exception on this day');
  if (e.status !== 'OPEN')
    throw new ApiError(409, 'EXCEPTION_REFUSED', `exception ${p.id} is ${e.status}, not open`);
  // Refused by the day whoever approves it (reconciliation/resolve.ts): not held for nothing.
  if (e.class === 'FEE_MISMATCH')
    throw new ApiError(
      409,
      'EXCEPTION_REFUSED',
      'fees are not booked per order: a fee mismatch is disputed with the gateway or accepted',
    );
  if (action === 'recover') refuseUnrecoverable(e);
  const diff = BigInt(e.theirs ?? '0') - BigInt(e.ours ?? '0');
  return diff < 0n ? -diff : diff;
}

/** A recover the day would refuse on its face (reconciliation/resolve.ts): not held for nothing. */
function refuseUnrecoverable(e: { kind: string; investor: string | null }): void {
  if (e.kind !== 'PAYOUT')
    throw new ApiError(
      409,
      'EXCEPTION_REFUSED',
      'only money paid out that was not owed can be recovered',
    );
  if (!e.investor)
    throw new ApiError(
      409,
      'EXCEPTION_REFUSED',
      'say which investor was paid (investorId, an investor that exists): the platform never made this order',
    );
}

/**
 * Runs a recorded decision's Update on the day's reconciliation (`send` records it and calls
 * `tell`); the exception and the day after it. Also what an approved adjustment runs.
 */
export async function tellException(
  context: AppContext,
  e: { channel: string; date: string; exceptionId: string; action: ExceptionAction },
  send: (tell: (ref: DecisionRef) => Promise<ReconSummary>) => Promise<ReconSummary>,
) {
  const handle = temporalOf(context).workflow.getHandle(
    workflowIds.reconciliation(e.channel, e.date),
  );
  try {
    const summary = await send((ref) =>
      handle.executeUpdate(resolveExceptionUpdate, { args: [ref], updateId: ref.decisionId }),
    );
    const {
      rows: [row],
    } = await context.pool.query<{ status: string }>(
      'SELECT status FROM recon_exceptions WHERE id = $1',
      [e.exceptionId],
    );
    return { exceptionId: e.exceptionId, action: e.action, status: row?.status, day: summary };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new ApiError(404, 'NOT_FOUND', 'this day has no reconciliation running');
    if (err instanceof WorkflowUpdateFailedError)
      throw new ApiError(409, 'EXCEPTION_REFUSED', refusalMessage(err));
    throw err;
  }
}
