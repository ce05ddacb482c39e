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
    `INSERT INTO operator_decisions (id, workflow_id, kind, actor, payload, reason, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [id, d.workflowId, d.kind, d.actor, JSON.stringify(d.payload), d.reason, d.requestId ?? null],
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

/**
 * Takes a decision for a workflow run, or says why not and records the refusal (one transaction).
 * Refused: no such decision, another workflow's or another kind's, or taken already (by another
 * run, or by this run before: a replayed Update).
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
        : await tx.query(
            `SELECT id, workflow_id, kind, actor, payload, reason, request_id, taken_by,
              created_at < now() - make_interval(mins => $2) AS expired
       FROM operator_decisions WHERE id = $1 FOR UPDATE`,
            [id, DECISION_TTL_MINUTES],
          );
    const why = !row
      ? 'no such decision: decisions are made through the API, which records them first'
      : row.workflow_id !== claim.workflowId
        ? `decision ${id} is for ${row.workflow_id}, not this workflow`
        : row.kind !== claim.kind
          ? `decision ${id} is a ${row.kind}, not a ${claim.kind}`
          : claim.seenInRun || (row.taken_by !== null && row.taken_by !== takenBy)
            ? `decision ${id} was used already`
            : row.taken_by === null && row.expired && EXPIRING.has(claim.kind)
              ? `decision ${id} expired: it was not used within ${DECISION_TTL_MINUTES} minutes`
              : undefined;
    if (why) {
      await refuse(tx, claim, id, why);
      return { ok: false, why };
    }
    if (row.taken_by === null)
      await tx.query(
        `UPDATE operator_decisions SET taken_at = now(), taken_by = $2 WHERE id = $1`,
        [id, takenBy],
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
