// Maker-checker (migration 0025, issue 16 item 2): an operator's money decision that needs a
// second operator is recorded as a pending approval with its audit row in one transaction; another
// key approves or rejects it, once, with its own audit row. The requester's key is refused here
// and by the table's CHECK, so no caller can skip the rule.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { writeAudit } from '../db/audit';
import { inTransaction } from '../db/pool';
import type { Queryable } from '../ledger/types';
import { announceHeldIn, announceVerdictIn } from './approval-announcements';

export type ApprovalAction =
  | 'review.paid'
  | 'recovery.write_off'
  | 'recovery.open'
  | 'exception.adjust'
  | 'exception.recover'
  | 'payout_run.start'
  | 'bank_account.add'
  | 'bank_account.remove';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected';

export interface NewApproval {
  workflowId: string;
  action: ApprovalAction;
  /** Minor units, when the action names one amount. */
  amountMinor?: bigint;
  /** What the decision is, as it will be carried out once approved. */
  payload: Record<string, unknown>;
  reason: string;
  /** `operator:<key id>` or `admin:<key id>`: the key that asked. */
  requestedBy: string;
  /** The person holding that key (api_keys.holder, or the key's id). */
  requestedHolder?: string;
  requestId?: string;
}

export interface Approval {
  id: string;
  workflowId: string;
  action: ApprovalAction;
  amountMinor?: bigint;
  payload: Record<string, unknown>;
  reason: string;
  requestedBy: string;
  since: Date;
  status: ApprovalStatus;
  decidedBy?: string;
  requestedHolder?: string;
  decidedHolder?: string;
  /**
   * What approving it carried out, in the same transaction: the operator decision it recorded for
   * the workflow, or the recovery or payout run it opened.
   */
  effectId?: string;
}

export interface ApprovalDecision {
  approvalId: string;
  verdict: 'approve' | 'reject';
  /** The deciding key (`operator:<key id>`). */
  actor: string;
  /** The person holding it: refused when it is the requester's. */
  holder: string;
  reason?: string;
  requestId?: string;
}

/**
 * Carries out an approved decision in the approving transaction; returns the id of what it
 * recorded (kept as the approval's effect_id).
 */
export type CarryOut = (tx: Queryable, approval: Approval) => Promise<string>;

export type DecideResult =
  | { ok: true; approval: Approval }
  | {
      ok: false;
      code:
        'approval_not_found' | 'approval_own_request' | 'approval_same_person' | 'approval_decided';
    };

/**
 * Records a pending approval and its audit row in the caller's transaction, with the outbox row
 * that starts its workflow (ApprovalState "Pending").
 */
export async function requestApprovalIn(tx: Queryable, a: NewApproval): Promise<string> {
  const id = `apr-${randomUUID()}`;
  await tx.query(
    `INSERT INTO approvals (id, workflow_id, action, amount_minor, payload, reason, requested_by, request_id,
       requested_holder)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      id,
      a.workflowId,
      a.action,
      a.amountMinor?.toString() ?? null,
      JSON.stringify(a.payload),
      a.reason,
      a.requestedBy,
      a.requestId ?? null,
      a.requestedHolder ?? null,
    ],
  );
  await writeAudit(tx, {
    actor: a.requestedBy,
    action: 'approval.requested',
    subject: a.workflowId,
    reason: a.reason,
    requestId: a.requestId,
    details: {
      approvalId: id,
      action: a.action,
      amountMinor: a.amountMinor?.toString(),
      holder: a.requestedHolder,
    },
    idempotencyKey: `approval.requested:${id}`,
  });
  await announceHeldIn(tx, { ...a, id });
  return id;
}

export async function requestApproval(pool: Pool, a: NewApproval): Promise<string> {
  return inTransaction(pool, (tx) => requestApprovalIn(tx, a));
}

const COLUMNS = `id, workflow_id, action, amount_minor::text, payload, reason, requested_by,
  requested_at, status, decided_by, effect_id, requested_holder, decided_holder`;

function fromRow(r: Record<string, unknown>): Approval {
  return {
    id: r.id as string,
    workflowId: r.workflow_id as string,
    action: r.action as ApprovalAction,
    ...(r.amount_minor !== null ? { amountMinor: BigInt(r.amount_minor as string) } : {}),
    payload: r.payload as Record<string, unknown>,
    reason: r.reason as string,
    requestedBy: r.requested_by as string,
    since: r.requested_at as Date,
    status: r.status as ApprovalStatus,
    ...(r.decided_by !== null ? { decidedBy: r.decided_by as string } : {}),
    ...(r.effect_id !== null ? { effectId: r.effect_id as string } : {}),
    ...(r.requested_holder !== null ? { requestedHolder: r.requested_holder as string } : {}),
    ...(r.decided_holder !== null ? { decidedHolder: r.decided_holder as string } : {}),
  };
}

/** The approvals still waiting for a second operator, oldest first. */
export async function pendingApprovals(db: Queryable, limit = 100): Promise<Approval[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM approvals WHERE status = 'pending' ORDER BY requested_at, id LIMIT $1`,
    [limit],
  );
  return rows.map(fromRow);
}

export async function readApproval(db: Queryable, id: string): Promise<Approval | undefined> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM approvals WHERE id = $1`, [id]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * The pending approval this key already asked for with the same decision (a retry sent without an
 * Idempotency-Key), if there is one: the retry is answered with it, not a second approval.
 */
export async function samePendingApproval(
  db: Queryable,
  a: Pick<NewApproval, 'workflowId' | 'action' | 'payload' | 'requestedBy'>,
): Promise<Approval | undefined> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM approvals
     WHERE workflow_id = $1 AND action = $2 AND payload = $3::jsonb AND requested_by = $4
       AND status = 'pending'
     ORDER BY requested_at LIMIT 1`,
    [a.workflowId, a.action, JSON.stringify(a.payload), a.requestedBy],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** How many approvals for this workflow still wait: the ApprovalState it shows. */
export async function pendingCount(db: Queryable, workflowId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM approvals WHERE workflow_id = $1 AND status = 'pending'`,
    [workflowId],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Approves or rejects a pending approval, once, with its audit row and the outbox rows that tell
 * Temporal, and on approval carries it out (`carryOut`), all in one transaction: an approval is
 * never approved without its effect. The same verdict by the same key again is answered with the
 * approval as it stands, effect included (a retried request); any other second decision (approve
 * twice by another key, approve after reject) is refused.
 */
export async function decideApproval(
  pool: Pool,
  d: ApprovalDecision,
  carryOut: CarryOut,
): Promise<DecideResult> {
  return inTransaction(pool, async (tx) => {
    const { rows } = await tx.query(`SELECT ${COLUMNS} FROM approvals WHERE id = $1 FOR UPDATE`, [
      d.approvalId,
    ]);
    if (!rows[0]) return { ok: false, code: 'approval_not_found' };
    const current = fromRow(rows[0]);
    if (current.requestedBy === d.actor) return { ok: false, code: 'approval_own_request' };
    // Another key of the same person: still their own request.
    if (current.requestedHolder === d.holder) return { ok: false, code: 'approval_same_person' };
    const status: 'approved' | 'rejected' = d.verdict === 'approve' ? 'approved' : 'rejected';
    if (current.status !== 'pending') {
      const repeat = current.status === status && current.decidedBy === d.actor;
      return repeat ? { ok: true, approval: current } : { ok: false, code: 'approval_decided' };
    }
    const decided: Approval = { ...current, status, decidedBy: d.actor, decidedHolder: d.holder };
    const effectId = status === 'approved' ? await carryOut(tx, decided) : undefined;
    await tx.query(
      `UPDATE approvals SET status = $2, decided_by = $3, decided_at = now(), decision_reason = $4,
         effect_id = $5, decided_holder = $6
       WHERE id = $1`,
      [d.approvalId, status, d.actor, d.reason ?? null, effectId ?? null, d.holder],
    );
    await writeAudit(tx, {
      actor: d.actor,
      action: `approval.${status}`,
      subject: current.workflowId,
      reason: d.reason,
      requestId: d.requestId,
      details: { approvalId: d.approvalId, action: current.action, effectId, holder: d.holder },
      idempotencyKey: `approval.decided:${d.approvalId}`,
    });
    await announceVerdictIn(tx, decided, status);
    return { ok: true, approval: { ...decided, ...(effectId ? { effectId } : {}) } };
  });
}
