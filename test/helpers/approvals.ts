// Maker-checker in tests: a held decision (202 PENDING_APPROVAL) approved or rejected through the
// API by a second operator's key, as an operator would.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { operatorHeaders } from '../api/helpers';

export interface HeldApproval {
  id: string;
  workflowId: string;
  action: string;
  amount: string | null;
  requestedBy: string;
  status: string;
}

/** The approval a held request answered with; throws unless it was held (202). */
export function heldApproval(res: LightMyRequestResponse): HeldApproval {
  if (res.statusCode !== 202 || res.json<{ status?: string }>().status !== 'PENDING_APPROVAL')
    throw new Error(`expected a decision held for approval, got ${res.statusCode} ${res.body}`);
  return res.json<{ approval: HeldApproval }>().approval;
}

/** A verdict on an approval with `checker`'s key (a fresh operator's unless given). */
export async function verdict(
  app: FastifyInstance,
  approvalId: string,
  v: 'approve' | 'reject',
  checker?: { authorization: string },
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: `/v1/approvals/${approvalId}/${v}`,
    headers: checker ?? (await operatorHeaders(app)),
    payload: { reason: `second operator: ${v}` },
  });
}

/**
 * Approves what `res` held with a second operator's key: the held request's answer, carried out
 * (`result`). Throws unless held and approved.
 */
export async function approveHeld<T = Record<string, unknown>>(
  app: FastifyInstance,
  res: LightMyRequestResponse,
  checker?: { authorization: string },
): Promise<T> {
  const approval = heldApproval(res);
  const approved = await verdict(app, approval.id, 'approve', checker);
  if (approved.statusCode !== 200)
    throw new Error(`approving ${approval.id}: ${approved.statusCode} ${approved.body}`);
  return approved.json<{ result: T }>().result;
}
