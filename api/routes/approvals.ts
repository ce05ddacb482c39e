// Maker-checker (API.md, issue 16 item 2): the money decisions waiting for a second operator, and
// that operator's verdict. Approving carries the decision out as the requester's, in the same
// transaction (api/approval-actions.ts); the requester's own key is refused (403), a second verdict
// is refused (409). Both verdicts are audited with the request (decisions/approvals.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decideApproval, pendingApprovals, type Approval } from '../../decisions/approvals';
import type { AppContext } from '../app';
import { carryOutFor, tellApproved } from '../approval-actions';
import { approvalView, showApprovalState } from '../approval-gate';
import { actorOf, requireRole } from '../auth';
import { documentedList, documentedObject } from '../contract';
import { replyKeyedDecision } from '../decisions';
import { ApiError } from '../errors';
import { AUTH_ERRORS, DECISION_IDEMPOTENCY_HEADERS, ERROR_RESPONSE } from '../schemas';

const APPROVAL_FIELDS = {
  id: 'apr-…',
  workflowId: 'the workflow the decision is for (it may start only once approved)',
  approvalWorkflowId: "approval-{id}: the approval's own workflow (ApprovalState in the Web UI)",
  action:
    'review.paid, recovery.write_off, recovery.open, exception.adjust, exception.recover, payout_run.start, bank_account.add or bank_account.remove',
  amount: 'the amount at stake, or null (a payout run)',
  requestedBy: 'the key that asked: it cannot approve, nor another key of the same holder',
  since: 'ISO time',
  reason: "the requester's reason",
  status: 'pending, approved or rejected',
};

const VERDICT_SCHEMA = {
  params: {
    type: 'object',
    properties: { id: { type: 'string', pattern: '^apr-[0-9a-f-]{36}$' } },
    required: ['id'],
  },
  headers: DECISION_IDEMPOTENCY_HEADERS,
  body: {
    type: 'object',
    additionalProperties: false,
    properties: { reason: { type: 'string', minLength: 3, maxLength: 500 } },
  },
} as const;

export function registerApprovalRoutes(app: FastifyInstance, context: AppContext): void {
  app.get(
    '/v1/approvals',
    {
      schema: {
        summary: 'money decisions waiting for a second operator, oldest first',
        response: { 200: documentedList('pending approvals', APPROVAL_FIELDS), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      requireRole(request.principal, ['operator', 'admin']);
      return (await pendingApprovals(context.pool)).map(approvalView);
    },
  );
  registerVerdictRoute(app, context, 'approve');
  registerVerdictRoute(app, context, 'reject');
}

function registerVerdictRoute(
  app: FastifyInstance,
  context: AppContext,
  verdict: 'approve' | 'reject',
): void {
  app.post<{ Params: { id: string }; Body: { reason?: string } }>(
    `/v1/approvals/:id/${verdict}`,
    {
      schema: {
        summary:
          verdict === 'approve'
            ? "approve another key's money decision: it is carried out as theirs, now"
            : "reject another key's money decision: nothing is done",
        ...VERDICT_SCHEMA,
        response: {
          200: documentedObject(`the ${verdict}d approval`, {
            approval: 'the approval as decided',
            ...(verdict === 'approve'
              ? { result: 'what the held request would have answered, carried out' }
              : {}),
          }),
          ...AUTH_ERRORS,
          409: ERROR_RESPONSE,
          503: ERROR_RESPONSE,
        },
      },
    },
    async (request, reply) => {
      requireRole(request.principal, ['operator', 'admin']);
      return replyKeyedDecision(context, request, reply, async () => {
        const approval = await decided(context, request, verdict);
        await showApprovalState(
          context,
          request,
          approval.workflowId,
          approval.id,
          approval.status,
        );
        if (verdict === 'reject') return { approval: approvalView(approval) };
        return { approval: approvalView(approval), result: await tellApproved(context, approval) };
      });
    },
  );
}

/** The verdict, committed (with the decision carried out when approved); refusals as 4xx. */
async function decided(
  context: AppContext,
  request: FastifyRequest<{ Params: { id: string }; Body: { reason?: string } }>,
  verdict: 'approve' | 'reject',
): Promise<Approval> {
  const result = await decideApproval(
    context.pool,
    {
      approvalId: request.params.id,
      verdict,
      actor: actorOf(request.principal),
      holder: request.principal.holder,
      reason: request.body?.reason,
      requestId: request.id,
    },
    carryOutFor(request),
  );
  if (result.ok) return result.approval;
  switch (result.code) {
    case 'approval_not_found':
      throw new ApiError(404, 'NOT_FOUND', 'no such approval');
    case 'approval_own_request':
      throw new ApiError(
        403,
        'APPROVAL_OWN_REQUEST',
        'a decision needs a second operator: this key asked for it',
      );
    case 'approval_same_person':
      throw new ApiError(
        403,
        'APPROVAL_OWN_REQUEST',
        'a decision needs a second operator: the same person asked for it, with another key',
      );
    case 'approval_decided':
      throw new ApiError(409, 'APPROVAL_DECIDED', 'this approval was decided already');
  }
}
