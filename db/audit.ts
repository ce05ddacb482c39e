// The append-only audit trail (migration 0013): written in the caller's transaction, so an action
// and its record commit together or not at all.
import type { Queryable } from '../ledger/types';

export interface AuditEntry {
  /** Who: `admin:admin-env`, `operator:<keyId>`... */
  actor: string;
  /** What: `api_key.issued`, `review.resolved`... */
  action: string;
  subject: string;
  reason?: string;
  requestId?: string;
  details?: Record<string, unknown>;
  /**
   * Names the event: a second write with the same key (the same work run again, e.g. an activity
   * retried after it committed) is dropped and the first row stays. Deterministic, from what the
   * event is (e.g. `recovery.written_off:{id}`), never from the moment it ran.
   */
  idempotencyKey?: string;
}

/**
 * Appends an audit row in the caller's transaction; false when a row with the same idempotency key
 * is there already (ON CONFLICT DO NOTHING: no update, the table stays append-only). The key may be
 * given in the entry or as the third argument.
 */
export async function writeAudit(
  tx: Queryable,
  e: AuditEntry,
  idempotencyKey: string | undefined = e.idempotencyKey,
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO audit_log (actor, action, subject, reason, request_id, details, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (idempotency_key) DO NOTHING`,
    [
      e.actor,
      e.action,
      e.subject,
      e.reason ?? null,
      e.requestId ?? null,
      JSON.stringify(e.details ?? {}),
      idempotencyKey ?? null,
    ],
  );
  return rowCount === 1;
}

export interface AuditRow extends AuditEntry {
  id: string;
  at: Date;
}

/** Newest first, `before` an id (paging). */
export async function readAudit(
  db: Queryable,
  before: string | undefined,
  limit: number,
): Promise<AuditRow[]> {
  const { rows } = await db.query(
    `SELECT id::text, at, actor, action, subject, reason, request_id, details FROM audit_log
     WHERE ($1::bigint IS NULL OR id < $1::bigint) ORDER BY id DESC LIMIT $2`,
    [before ?? null, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    reason: r.reason ?? undefined,
    requestId: r.request_id ?? undefined,
    details: r.details,
  }));
}
