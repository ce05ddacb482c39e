// The emergency stop's state (migration 0031): payouts and/or collections paused per channel, by
// an operator with a reason, until an operator resumes them. Both are audited in the same
// transaction. No Temporal here: the API writes it, activities read it before every new order.
import { writeAudit } from '../db/audit';
import type { Queryable } from '../ledger/types';

export const PAUSE_SCOPES = ['payouts', 'collections'] as const;
export type PauseScope = (typeof PAUSE_SCOPES)[number];
/** What an operator names: one scope, or both. */
export type PauseTarget = PauseScope | 'all';

export interface GatewayPause {
  scope: PauseScope;
  channel: string;
  reason: string;
  pausedBy: string;
  since: string;
}

export interface PauseChange {
  target: PauseTarget;
  channel: string;
  reason: string;
  actor: string;
  requestId?: string;
}

const scopesOf = (target: PauseTarget): readonly PauseScope[] =>
  target === 'all' ? PAUSE_SCOPES : [target];

const toPause = (r: Record<string, unknown>): GatewayPause => ({
  scope: r.scope as PauseScope,
  channel: r.channel as string,
  reason: r.reason as string,
  pausedBy: r.paused_by as string,
  since: new Date(r.paused_at as string).toISOString(),
});

export async function listPauses(db: Queryable): Promise<GatewayPause[]> {
  const { rows } = await db.query('SELECT * FROM gateway_pauses ORDER BY channel, scope');
  return rows.map(toPause);
}

/** The pause that stops a new order of this scope on this channel, or null. */
export async function pauseOf(
  db: Queryable,
  scope: PauseScope,
  channel: string,
): Promise<GatewayPause | null> {
  const { rows } = await db.query(
    'SELECT * FROM gateway_pauses WHERE scope = $1 AND channel = $2',
    [scope, channel],
  );
  return rows[0] ? toPause(rows[0]) : null;
}

/**
 * Pauses each scope of the target that is not paused yet (a scope paused already keeps its first
 * reason and time), audited; which scopes it paused now.
 */
export async function pauseGateway(tx: Queryable, c: PauseChange): Promise<PauseScope[]> {
  const paused: PauseScope[] = [];
  for (const scope of scopesOf(c.target)) {
    const { rowCount } = await tx.query(
      `INSERT INTO gateway_pauses (scope, channel, reason, paused_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (scope, channel) DO NOTHING`,
      [scope, c.channel, c.reason, c.actor],
    );
    if (rowCount) paused.push(scope);
  }
  if (paused.length > 0) await audit(tx, 'controls.paused', c, paused);
  return paused;
}

/** Resumes each scope of the target that is paused, audited; which scopes it resumed. */
export async function resumeGateway(tx: Queryable, c: PauseChange): Promise<PauseScope[]> {
  const { rows } = await tx.query<{ scope: PauseScope }>(
    'DELETE FROM gateway_pauses WHERE channel = $1 AND scope = ANY($2::text[]) RETURNING scope',
    [c.channel, scopesOf(c.target)],
  );
  const resumed = rows.map((r) => r.scope).sort();
  if (resumed.length > 0) await audit(tx, 'controls.resumed', c, resumed);
  return resumed;
}

async function audit(tx: Queryable, action: string, c: PauseChange, scopes: PauseScope[]) {
  await writeAudit(tx, {
    actor: c.actor,
    action,
    subject: `gateway:${c.channel}`,
    reason: c.reason,
    requestId: c.requestId,
    details: { scopes, channel: c.channel },
  });
}
