// GET /v1/payouts/{id}: a payout's status, and, from its workflow, every attempt and gateway
// answer.
import type { FastifyInstance } from 'fastify';
import { documentedObject } from '../contract';
import { formatAmount } from '../../ledger/money';
import { getPayout } from '../../payments/payouts';
import { reviewEvidenceQuery } from '../../workflows/contracts/gateway-order';
import type { AppContext } from '../app';
import { requireOwner, requireRole } from '../auth';
import { ApiError } from '../errors';
import { AUTH_ERRORS, PAYOUT_ID } from '../schemas';
import { workflowIds } from '../../ids/workflow-ids';

export function registerPayoutRoutes(app: FastifyInstance, context: AppContext): void {
  app.get<{ Params: { id: string } }>(
    '/v1/payouts/:id',
    {
      schema: {
        summary: 'a payout: status, attempts, gateway answers',
        params: { type: 'object', properties: { id: PAYOUT_ID }, required: ['id'] },
        response: {
          200: documentedObject('a payout', {
            id: 'the payout id',
            purpose: 'scheduled, withdrawal or disbursement',
            status: 'HELD, SUBMITTED, SUCCEEDED, FAILED, MANUAL_REVIEW...',
            amount: 'amount',
            currency: 'ISO 4217',
            orderNo: 'the gateway order number',
            workflowId: 'payout-{id}',
            state: 'the workflow state, or null',
            attempts: 'the gateway answers, per attempt',
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      requireRole(request.principal, ['investor', 'borrower', 'operator', 'admin']);
      const payout = await getPayout(context.pool, request.params.id);
      if (!payout) throw new ApiError(404, 'NOT_FOUND', 'not found');
      requireOwner(request.principal, payout.partyId);
      const workflowId = workflowIds.payout(payout.id);
      // The attempts live in the workflow; without Temporal (or before it started) the status still
      // answers.
      const evidence = context.temporal
        ? await context.temporal.workflow
            .getHandle(workflowId)
            .query(reviewEvidenceQuery)
            .catch(() => undefined)
        : undefined;
      return {
        id: payout.id,
        purpose: payout.purpose,
        status: payout.status,
        amount: formatAmount(payout.amountMinor, payout.currency),
        currency: payout.currency,
        orderNo: payout.orderNo,
        workflowId,
        state: evidence?.state ?? null,
        attempts: evidence?.attempts ?? [],
      };
    },
  );
}
