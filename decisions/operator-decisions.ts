// Operator decisions as rows (migration 0021, issue 26): the API records a decision with the
// authenticated key and its audit row in one transaction; the workflow it is for takes it, once,
// through an activity, before any effect. The actor of every effect is the row's, never a name
// carried in an Update or a Signal.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { writeAudit } from '../db/audit';
import { inTransaction } from '../db/pool';
import type { Queryable } from '../ledger/types';

export type DecisionKind =
  | 'review.resolve'
  | 'exception.resolve'
  | 'recovery.write_off'
  | 'recovery.request_collection'
  | 'recovery.open'
  | 'payout_run.start'
  /**
   * A party's own requests that move their money: an investor's cancel, a borrower's (or an
   * operator's) collect-now.
   */
  | 'subscription.cancel'
  | 'repayment.collect_now';

export interface NewDecision {
  workflowId: string;
  kind: DecisionKind;
  /**
   * `operator:<key id>`, `admin:<key id>` (or the investor's or borrower's key for their own
   * requests): the key that made it.
   */
  actor: string;
  /** What was decided (the Update's old fields, without the actor). */
  payload: Record<string, unknown>;
  reason: string;
  requestId?: string;
  /**
   * The API's maker-checker rule for it: true when an approval let it through, false when the rule
   * let it through alone (a paid at or below the threshold). Absent: a held kind is refused.
   */
  needsApproval?: boolean;
}

export interface TakenDecision {
  decisionId: string;
  actor: string;
  payload: Record<string, unknown>;
  reason: string;
  requestId?: string;
}

/** What a workflow hands the activity: the id it was told, and who it is. */
export interface DecisionClaim {
  decisionId: unknown;
  workflowId: string;
  /** The workflow run taking it: a retried activity of the same run takes it again. */
  runId: string;
  kind: DecisionKind;
  /** The workflow has taken (or is taking) this id already in this run: a replay. */
  seenInRun: boolean;
}

export type TakeResult = ({ ok: true } & TakenDecision) | { ok: false; why: string };

/** The id of a decision; the Update carries only this. */
export interface DecisionRef {
  decisionId: string;
}

/** Records a decision and its audit row in one transaction; the id is what the workflow is told. */
export async function recordDecision(pool: Pool, d: NewDecision): Promise<string> {
  return inTransaction(pool, (tx) => recordDecisionIn(tx, d));
}

/**
 * The same, in the caller's transaction (with the booking it goes with: a recovery opened by hand).
 */
export async function recordDecisionIn(tx: Queryable, d: NewDecision): Promise<string> {
  const id = `dec-${randomUUID()}`;
  await tx.query(
    `INSERT INTO operator_decisions (id, workflow_id, kind, actor, payload, reason, request_id, needs_approval)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      id,
      d.workflowId,
      d.kind,
      d.actor,
      JSON.stringify(d.payload),
      d.reason,
      d.requestId ?? null,
      d.needsApproval ?? null,
    ],
  );
  await writeAudit(tx, {
    actor: d.actor,
    action: 'decision.recorded',
    subject: d.workflowId,
    reason: d.reason,
    requestId: d.requestId,
    details: { decisionId: id, kind: d.kind, ...d.payload },
    idempotencyKey: `decision.recorded:${id}`,
  });
  return id;
}

const DECISION_ID = /^dec-[0-9a-f-]{36}$/;
/**
 * A decision sent as an Update is taken while the API waits: one left untaken (its Update refused)
 * does not wait to be used later. Kinds delivered by a start or a Signal (the outbox, signal-with-
 * start) may reach a workflow late, after an outage, and never expire.
 */
export const DECISION_TTL_MINUTES = 15;
const EXPIRING: ReadonlySet<DecisionKind> = new Set([
  'review.resolve',
  'exception.resolve',
  'recovery.write_off',
  'recovery.request_collection',
]);

interface DecisionRow {
  id: string;
  workflow_id: string;
  kind: DecisionKind;
  actor: string;
  payload: Record<string, unknown>;
  reason: string;
  request_id: string | null;
  taken_by: string | null;
  expired: boolean;
  needs_approval: boolean | null;
}

/**
 * Takes a decision for a workflow run, or says why not and records the refusal (one transaction).
 * Refused: no such decision, another workflow's or another kind's, taken already (by another run,
 * or by this run before: a replayed Update), or one a second operator must approve without its
 * approval.
 */
export async function takeDecision(pool: Pool, claim: DecisionClaim): Promise<TakeResult> {
  const id =
    typeof claim.decisionId === 'string' && DECISION_ID.test(claim.decisionId)
      ? claim.decisionId
      : undefined;
  const takenBy = `${claim.workflowId}/${claim.runId}`;
  return inTransaction(pool, async (tx) => {
    const {
      rows: [row],
    } =
      id === undefined
        ? { rows: [] }
        : await tx.query<DecisionRow>(
            `SELECT id, workflow_id, kind, actor, payload, reason, request_id, taken_by, needs_approval,
              created_at < now() - make_interval(mins => $2) AS expired
       FROM operator_decisions WHERE id = $1 FOR UPDATE`,
            [id, DECISION_TTL_MINUTES],
          );
    const why = whyNot(claim, takenBy, row) ?? (await withoutApproval(tx, row));
    if (why) {
      await refuse(tx, claim, id, why);
      return { ok: false, why };
    }
    if (row.taken_by === null)
      await tx.query(
        `UPDATE operator_decisions SET taken_at = now(), taken_by = $2 WHERE id = $1`,
        [row.id, takenBy],
      );
    return {
      ok: true,
      decisionId: row.id,
      actor: row.actor,
      payload: row.payload,
      reason: row.reason,
      ...(row.request_id ? { requestId: row.request_id } : {}),
    };
  });
}

/** Why the row cannot be taken by this claim on its face, if it cannot. */
function whyNot(
  claim: DecisionClaim,
  takenBy: string,
  row: DecisionRow | undefined,
): string | undefined {
  if (!row) return 'no such decision: decisions are made through the API, which records them first';
  const id = row.id;
  if (row.workflow_id !== claim.workflowId)
    return `decision ${id} is for ${row.workflow_id}, not this workflow`;
  if (row.kind !== claim.kind) return `decision ${id} is a ${row.kind}, not a ${claim.kind}`;
  if (claim.seenInRun || (row.taken_by !== null && row.taken_by !== takenBy))
    return `decision ${id} was used already`;
  if (row.taken_by === null && row.expired && EXPIRING.has(claim.kind))
    return `decision ${id} expired: it was not used within ${DECISION_TTL_MINUTES} minutes`;
  return undefined;
}

/**
 * Whether a second operator must have approved it (maker-checker, issue 16 item 2): every
 * write-off, exception adjust and recover, and a review's paid unless the API's rule let it
 * through alone (at or below the threshold; a row no API recorded is held).
 */
export function needsSecondOperator(
  row: Pick<DecisionRow, 'kind' | 'payload' | 'needs_approval'>,
): boolean {
  if (row.needs_approval === true) return true;
  switch (row.kind) {
    case 'recovery.write_off':
      return true;
    case 'exception.resolve':
      return row.payload.action === 'adjust' || row.payload.action === 'recover';
    case 'review.resolve':
      return row.payload.decision === 'paid' && row.needs_approval !== false;
    default:
      return false;
  }
}

/**
 * Why a decision that needs a second operator is refused: it is not the effect of an approval of
 * this requester's, for this workflow, approved by another key.
 */
async function withoutApproval(
  tx: Queryable,
  row: DecisionRow | undefined,
): Promise<string | undefined> {
  if (!row || !needsSecondOperator(row)) return undefined;
  const { rows } = await tx.query(
    `SELECT 1 FROM approvals
     WHERE effect_id = $1 AND status = 'approved' AND workflow_id = $2 AND requested_by = $3
       AND decided_by <> $3`,
    [row.id, row.workflow_id, row.actor],
  );
  return rows.length > 0
    ? undefined
    : `decision ${row.id} needs a second operator's approval, and no approval by another key carried it out`;
}

async function refuse(
  tx: Queryable,
  claim: DecisionClaim,
  id: string | undefined,
  why: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO operator_decision_refusals (decision_id, workflow_id, kind, why) VALUES ($1, $2, $3, $4)`,
    [
      id ?? (typeof claim.decisionId === 'string' ? claim.decisionId.slice(0, 200) : null),
      claim.workflowId,
      claim.kind,
      why,
    ],
  );
}

/**
 * A refusal the workflow itself found (e.g. a notice signal naming no stored notice): recorded the
 * same way.
 */
export async function recordRefusal(
  pool: Pool,
  workflowId: string,
  kind: string,
  subject: string | undefined,
  why: string,
): Promise<void> {
  await pool.query(
    `INSERT INTO operator_decision_refusals (decision_id, workflow_id, kind, why) VALUES ($1, $2, $3, $4)`,
    [subject?.slice(0, 200) ?? null, workflowId, kind, why],
  );
}
