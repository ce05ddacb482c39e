// Repayments and payout runs (API.md). Both start a workflow with a deterministic id and answer
// at once; a repeat reaches the same workflow, never a second one. An Idempotency-Key, when sent,
// replays the first answer (api/decisions.ts): a retry after a lost answer records no second
// decision and holds no second approval.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { getLoan } from '../../loans/store';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import { collectNowSignal, type RepaymentWorkflowInput } from '../../workflows/contracts/repayment';
import type { AppContext } from '../app';
import { HELD_FIELDS, holdForApproval, Replied } from '../approval-gate';
import { documentedObject } from '../contract';
import { requireOwner, requireRole } from '../auth';
import { decide, replyKeyedDecision } from '../decisions';
import { ApiError } from '../errors';
import { AUTH_ERRORS, DECISION_IDEMPOTENCY_HEADERS, ERROR_RESPONSE, PARTY_ID } from '../schemas';
import { temporalOf } from '../temporal';
import { workflowIds } from '../../ids/workflow-ids';

const INSTALLMENT = { type: 'integer', minimum: 1, maximum: 360 } as const;
/** Path parameters are strings (no type coercion at the edge): 1..360 as digits. */
const INSTALLMENT_PARAM = { type: 'string', pattern: '^[1-9][0-9]{0,2}$' } as const;
const ACCEPTED = {
  202: {
    type: 'object',
    properties: { workflowId: { type: 'string' }, status: { type: 'string' } },
  },
  ...AUTH_ERRORS,
  409: ERROR_RESPONSE,
  503: ERROR_RESPONSE,
};
const REPAYABLE = ['DISBURSED', 'REPAYING', 'CLOSED'];

/** Runs a start; one that already exists (running or closed) is the answer, not an error. */
async function once(start: () => Promise<unknown>): Promise<void> {
  try {
    await start();
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

export function registerRepaymentRoutes(app: FastifyInstance, context: AppContext): void {
  registerCollectNowRoute(app, context);
  registerPayoutRunRoute(app, context);
}

/** A loan and its installment n, if both exist. */
async function findInstallment(pool: Pool, loanId: string, n: number) {
  const loan = await getLoan(pool, loanId);
  const row = loan?.schedule.find((i) => i.n === n);
  if (!loan || !row) return undefined;
  return { loan, row };
}

function registerCollectNowRoute(app: FastifyInstance, context: AppContext): void {
  const { pool } = context;
  app.post<{ Params: { id: string; n: string } }>(
    '/v1/loans/:id/installments/:n/repayments',
    {
      schema: {
        summary:
          'collect installment n from the borrower now (it is collected at its due date anyway)',
        params: {
          type: 'object',
          properties: { id: PARTY_ID, n: INSTALLMENT_PARAM },
          required: ['id', 'n'],
        },
        headers: DECISION_IDEMPOTENCY_HEADERS,
        response: ACCEPTED,
      },
    },
    async (request, reply) =>
      replyKeyedDecision(context, request, reply, async () => {
        requireRole(request.principal, ['borrower', 'operator', 'admin']);
        const found = await findInstallment(pool, request.params.id, Number(request.params.n));
        if (!found) throw new ApiError(404, 'NOT_FOUND', 'not found');
        requireOwner(request.principal, found.loan.borrowerId);
        if (!REPAYABLE.includes(found.loan.status))
          throw new ApiError(409, 'LOAN_NOT_REPAYING', `the loan is ${found.loan.status}`);
        const workflowId = workflowIds.repayment(found.loan.id, found.row.n);
        const input: RepaymentWorkflowInput = { loanId: found.loan.id, installment: found.row.n };
        // Recorded with the caller's key first; the workflow takes it by id. Starts it now, or
        // tells the running one to collect now; a finished one is left alone.
        await decide(
          context,
          request,
          {
            workflowId,
            kind: 'repayment.collect_now',
            reason: 'collect now, asked through the API',
            payload: { loanId: found.loan.id, installment: found.row.n },
          },
          (ref) =>
            once(() =>
              temporalOf(context).workflow.signalWithStart('repaymentWorkflow', {
                workflowId,
                taskQueue: TASK_QUEUE,
                args: [input],
                signal: collectNowSignal,
                signalArgs: [ref],
                workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
              }),
            ),
        );
        const after = await findInstallment(pool, found.loan.id, found.row.n);
        return new Replied(202, { workflowId, status: after?.row.status ?? found.row.status });
      }),
  );
}

function registerPayoutRunRoute(app: FastifyInstance, context: AppContext): void {
  const { pool } = context;
  app.post<{ Body: { loanId: string; installment: number } }>(
    '/v1/payout-runs',
    {
      schema: {
        summary:
          "pay every investor's share of a distributed installment; a repeat returns the same run",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['loanId', 'installment'],
          properties: { loanId: PARTY_ID, installment: INSTALLMENT },
        },
        headers: DECISION_IDEMPOTENCY_HEADERS,
        response: {
          ...ACCEPTED,
          202: documentedObject(
            'held for a second operator: the run starts when approved (POST /v1/approvals/{id}/approve)',
            HELD_FIELDS,
          ),
        },
      },
    },
    async (request, reply) =>
      replyKeyedDecision(context, request, reply, async () => {
        requireRole(request.principal, ['operator', 'admin']);
        const found = await findInstallment(pool, request.body.loanId, request.body.installment);
        if (!found) throw new ApiError(404, 'NOT_FOUND', 'no such loan installment');
        if (found.row.status !== 'DISTRIBUTED' && found.row.status !== 'PAID_OUT') {
          throw new ApiError(
            409,
            'NOT_DISTRIBUTED',
            `installment ${found.row.n} is ${found.row.status}: nothing to pay out yet`,
            { status: found.row.status },
          );
        }
        // Started only once a second operator approves it (api/approval-actions.ts): then the
        // decision, its audit row and the run's start (an outbox row) commit in one transaction.
        return holdForApproval(context, request, {
          workflowId: workflowIds.payoutRun(found.loan.id, found.row.n),
          action: 'payout_run.start',
          payload: { loanId: found.loan.id, installment: found.row.n },
          reason: `payout run of ${found.loan.id} installment ${found.row.n} started by hand`,
        });
      }),
  );
}
