// Manual reviews (API.md): the payments whose outcome stayed unknown, waiting for an operator.
// They live in Temporal (ReviewState = "Pending"); a decision is recorded here with the key that
// made it, then the workflow's resolveReview update is told its id (api/decisions.ts).
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { documentedList, documentedObject } from '../contract';
import type { FastifyInstance } from 'fastify';
import {
  resolveReviewUpdate,
  reviewEvidenceQuery,
  type ReviewDecision,
} from '../../workflows/contracts/gateway-order';
import type { DecisionRef } from '../../decisions/operator-decisions';
import { findOrder } from '../../payments/orders';
import type { AppContext } from '../app';
import { HELD_FIELDS, holdForApproval } from '../approval-gate';
import { requireRole } from '../auth';
import { decide, replyKeyedDecision } from '../decisions';
import { ApiError } from '../errors';
import { temporalOf } from '../temporal';
import {
  AUTH_ERRORS,
  DECISION_IDEMPOTENCY_HEADERS,
  ERROR_RESPONSE,
  REVIEWABLE_WORKFLOW_ID,
} from '../schemas';

// Every workflow with a gateway order that can wait for review, recovery collections included.
const LIST_LIMIT = 100;

export function registerReviewRoutes(app: FastifyInstance, context: AppContext): void {
  registerOpenReviewsRoute(app, context);
  registerResolveReviewRoute(app, context);
}

function registerOpenReviewsRoute(app: FastifyInstance, context: AppContext): void {
  app.get(
    '/v1/reviews',
    {
      schema: {
        summary: 'open manual reviews, oldest first',
        response: {
          200: documentedList('open manual reviews, oldest first', {
            workflowId: 'the waiting workflow',
            kind: 'its workflow type',
            since: 'ISO time',
            evidence: 'every attempt and answer, the order, the amount',
          }),
          ...AUTH_ERRORS,
          503: ERROR_RESPONSE,
        },
      },
    },
    async (request) => {
      requireRole(request.principal, ['operator', 'admin']);
      const temporal = temporalOf(context);
      const reviews = [];
      for await (const wf of temporal.workflow.list({
        query: `ReviewState = 'Pending' AND ExecutionStatus = 'Running'`,
      })) {
        const evidence = await temporal.workflow
          .getHandle(wf.workflowId)
          .query(reviewEvidenceQuery);
        reviews.push({
          workflowId: wf.workflowId,
          kind: wf.type,
          since: evidence.since ?? wf.startTime.toISOString(),
          evidence,
        });
        if (reviews.length >= LIST_LIMIT) break;
      }
      return reviews.sort((a, b) => a.since.localeCompare(b.since));
    },
  );
}

const RESOLVE_REVIEW_SCHEMA = {
  summary:
    "resolve a manual review: paid (post) or not_paid (void); the operator's key and the reason go into the ledger",
  params: {
    type: 'object',
    properties: { workflowId: REVIEWABLE_WORKFLOW_ID },
    required: ['workflowId'],
  },
  headers: DECISION_IDEMPOTENCY_HEADERS,
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['decision', 'reason'],
    properties: {
      decision: { type: 'string', enum: ['paid', 'not_paid'] },
      reason: { type: 'string', minLength: 3, maxLength: 500 },
      // not_paid only, payouts and deposits: the same order number is sent again instead of
      // releasing it.
      resubmit: { type: 'boolean' },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: { workflowId: { type: 'string' }, state: { type: 'string' } },
    },
    202: documentedObject(
      'a paid above APPROVAL_PAID_ABOVE: held for a second operator (POST /v1/approvals/{id}/approve)',
      HELD_FIELDS,
    ),
    ...AUTH_ERRORS,
    409: ERROR_RESPONSE,
    503: ERROR_RESPONSE,
  },
};

function registerResolveReviewRoute(app: FastifyInstance, context: AppContext): void {
  app.post<{
    Params: { workflowId: string };
    Body: { decision: ReviewDecision; reason: string; resubmit?: boolean };
  }>(
    '/v1/reviews/:workflowId/resolve',
    {
      schema: RESOLVE_REVIEW_SCHEMA,
    },
    async (request, reply) => {
      requireRole(request.principal, ['operator', 'admin']);
      return replyKeyedDecision(context, request, reply, async () => {
        const { workflowId } = request.params;
        const { decision, reason, resubmit } = request.body;
        const held =
          decision === 'paid' ? await paidNeedingApproval(context, workflowId) : undefined;
        if (held)
          return holdForApproval(context, request, {
            workflowId,
            action: 'review.paid',
            amountMinor: held.amountMinor,
            payload: { decision, ...(held.currency ? { currency: held.currency } : {}) },
            reason,
          });
        // Recorded with this key first; the workflow reads it by its id (the actor is never the
        // Update's).
        return tellReview(context, workflowId, (tell) =>
          decide(
            context,
            request,
            {
              workflowId,
              kind: 'review.resolve',
              reason,
              payload: { decision, ...(resubmit ? { resubmit: true } : {}) },
              // A paid that got here is at or below the threshold: takeDecision lets it alone.
              ...(decision === 'paid' ? { needsApproval: false } : {}),
            },
            tell,
          ),
        );
      });
    },
  );
}

/**
 * A `paid` above the threshold waits for a second operator: the order's amount when it is over, or
 * when the order cannot be found (held, never let through unchecked; the workflow refuses what it
 * cannot take when the approval is carried out).
 */
async function paidNeedingApproval(
  context: AppContext,
  workflowId: string,
): Promise<{ amountMinor?: bigint; currency?: string } | undefined> {
  let orderNo: string;
  try {
    orderNo = (await temporalOf(context).workflow.getHandle(workflowId).query(reviewEvidenceQuery))
      .orderNo;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new ApiError(404, 'NOT_FOUND', 'no such workflow');
    throw err;
  }
  const order = await findOrder(context.pool, orderNo);
  if (!order) return {};
  return order.amountMinor > context.paidApprovalAboveMinor
    ? { amountMinor: order.amountMinor, currency: order.currency }
    : undefined;
}

/**
 * Tells the review's workflow a recorded decision (`send` records it and runs the Update with the
 * ref it is given); the workflow's refusals are 409s. Also what an approved `paid` runs.
 */
export async function tellReview(
  context: AppContext,
  workflowId: string,
  send: (tell: (ref: DecisionRef) => Promise<string>) => Promise<string>,
): Promise<{ workflowId: string; state: string }> {
  const handle = temporalOf(context).workflow.getHandle(workflowId);
  try {
    const state = await send((ref) =>
      handle.executeUpdate(resolveReviewUpdate, { args: [ref], updateId: ref.decisionId }),
    );
    return { workflowId, state };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new ApiError(404, 'NOT_FOUND', 'no such workflow');
    // The workflow refused: no such decision, nothing to resolve, or a decision the state
    // does not allow.
    if (err instanceof WorkflowUpdateFailedError)
      throw new ApiError(409, 'REVIEW_REFUSED', err.cause?.message ?? err.message);
    throw err;
  }
}
