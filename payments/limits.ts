// The platform's limits (migration 0034): configuration an operator sees and an admin changes,
// audited with the old and new value. The subscription cap is enforced inside the reservation
// statement (subscription_within_cap); the withdrawal limits here, where the withdrawal's hold is
// taken, under a lock of the investor so two withdrawals at once cannot both fit under a limit.
import { writeAudit } from '../db/audit';
import type { Queryable } from '../ledger/types';

export const LIMIT_NAMES = [
  'subscription_per_investor_per_loan',
  'withdrawal_daily',
  'withdrawal_monthly',
  'withdrawal_max',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export interface Limit {
  name: LimitName;
  /** null: no limit. */
  amountMinor: bigint | null;
  currency: string;
  changedBy: string;
  changedAt: Date;
}

/** A withdrawal the limits refuse: which limit, and what still fits under it. */
export class LimitExceeded extends Error {
  constructor(
    readonly limit: LimitName,
    readonly limitMinor: bigint,
    readonly remainingMinor: bigint,
    readonly currency: string,
  ) {
    super(`${limit.replace(/_/g, ' ')} is ${limitMinor} minor units; ${remainingMinor} still fit`);
  }
}

export async function readLimits(db: Queryable): Promise<Limit[]> {
  const { rows } = await db.query(
    'SELECT name, amount_minor::text, currency, changed_by, changed_at FROM platform_limits ORDER BY name',
  );
  return rows.map((r) => ({
    name: r.name,
    amountMinor: r.amount_minor === null ? null : BigInt(r.amount_minor),
    currency: r.currency,
    changedBy: r.changed_by,
    changedAt: r.changed_at,
  }));
}

/** Sets a limit (null lifts it), audited with what it was; the limit as it now is. */
export async function setLimit(
  tx: Queryable,
  c: {
    name: LimitName;
    amountMinor: bigint | null;
    actor: string;
    reason: string;
    requestId?: string;
  },
): Promise<Limit> {
  const { rows } = await tx.query(
    'SELECT amount_minor::text FROM platform_limits WHERE name = $1 FOR UPDATE',
    [c.name],
  );
  await tx.query(
    'UPDATE platform_limits SET amount_minor = $2, changed_by = $3, changed_at = now() WHERE name = $1',
    [c.name, c.amountMinor === null ? null : c.amountMinor.toString(), c.actor],
  );
  await writeAudit(tx, {
    actor: c.actor,
    action: 'limit.changed',
    subject: c.name,
    reason: c.reason,
    requestId: c.requestId,
    details: { from: rows[0]?.amount_minor ?? null, to: c.amountMinor?.toString() ?? null },
  });
  return (await readLimits(tx)).find((l) => l.name === c.name) as Limit;
}

/**
 * Refuses a withdrawal payout of `amountMinor` that would pass the investor's per-payout maximum,
 * or what they may withdraw this UTC day or month (payouts that failed do not count).
 */
export async function checkWithdrawalLimits(
  tx: Queryable,
  w: { investorId: string; amountMinor: bigint; currency: string },
): Promise<void> {
  const limits = new Map((await readLimits(tx)).map((l) => [l.name, l]));
  const max = limits.get('withdrawal_max')?.amountMinor ?? null;
  if (max !== null && w.amountMinor > max)
    throw new LimitExceeded('withdrawal_max', max, max, w.currency);
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('withdrawals ' || $1, 0))`, [
    w.investorId,
  ]);
  for (const [name, period] of [
    ['withdrawal_daily', 'day'],
    ['withdrawal_monthly', 'month'],
  ] as const) {
    const limit = limits.get(name)?.amountMinor ?? null;
    if (limit === null) continue;
    const { rows } = await tx.query<{ taken: string }>(
      `SELECT coalesce(sum(amount_minor), 0)::text AS taken FROM payouts
        WHERE party_id = $1 AND purpose = 'withdrawal' AND status <> 'FAILED'
          AND created_at >= date_trunc($2, now())`,
      [w.investorId, period],
    );
    const taken = BigInt(rows[0].taken);
    if (taken + w.amountMinor > limit)
      throw new LimitExceeded(name, limit, limit > taken ? limit - taken : 0n, w.currency);
  }
}
