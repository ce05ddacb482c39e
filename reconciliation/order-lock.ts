// One order's reconciliation lock, and where the money of a collection found executed after all
// sits in the ledger. A resolution (resolve.ts) takes the lock before it re-derives the order's
// net; so does a workflow that books an order late (a collection answered FAILED that the gateway,
// asked again, says it executed): the two never both correct the same order.
import { accountPath } from '../ledger/accounts';
import type { Queryable } from '../ledger/types';

/** Held until the caller's transaction ends. */
export async function lockReconOrder(tx: Queryable, orderNo: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
    `recon-order:${orderNo}`,
  ]);
}

/**
 * The order's net on the channel's clearing account per currency (credits minus debits: positive,
 * money out), posted only.
 */
export async function clearingNets(
  tx: Queryable,
  channel: string,
  orderNo: string,
  excludingKey?: string,
): Promise<Map<string, bigint>> {
  const { rows } = await tx.query<{ currency: string; net: string }>(
    `SELECT p.currency, sum(CASE p.direction WHEN 'C' THEN p.amount ELSE -p.amount END)::text AS net
     FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id AND NOT p.pending
     JOIN ledger_accounts a ON a.id = p.account_id AND a.path = $2
     WHERE t.metadata ? 'orderNo' AND t.metadata->>'orderNo' = $1 AND t.kind IN ('posted', 'post_pending')
       AND ($3::text IS NULL OR t.idempotency_key <> $3) GROUP BY 1`,
    [orderNo, accountPath.gatewayClearing(channel), excludingKey ?? null],
  );
  return new Map(rows.map((r) => [r.currency, BigInt(r.net)]));
}

/**
 * Where a collection the gateway executed, but that we recorded FAILED, is taken from when it is
 * booked after all (the caller holds `lockReconOrder`): the clearing account while nothing else
 * booked the order; `platform:suspense` once a reconciliation's `adjust` has already brought its
 * money onto the clearing account against suspense (the clearing side then equals the gateway's,
 * and taking it from clearing again would count it twice). `ownKey` is the booking's own
 * idempotency key, left out so that a retried booking finds the same source. Anything else on
 * the order is not settled here: an error, retried until an operator has looked.
 */
export async function foundCollectionSource(
  tx: Queryable,
  c: { orderNo: string; channel: string; amountMinor: bigint; currency: string; ownKey: string },
): Promise<string> {
  const nets = await clearingNets(tx, c.channel, c.orderNo, c.ownKey);
  const others = [...nets].filter(([currency, net]) => currency !== c.currency && net !== 0n);
  const net = nets.get(c.currency) ?? 0n;
  if (others.length === 0 && net === 0n) return accountPath.gatewayClearing(c.channel);
  if (others.length === 0 && net === -c.amountMinor) return accountPath.platformSuspense();
  throw new Error(
    `collection ${c.orderNo} already moved ${JSON.stringify(Object.fromEntries([...nets].map(([k, v]) => [k, v.toString()])))} on the clearing account, ` +
      `not 0 or the order's -${c.amountMinor} ${c.currency}: an operator must settle it before it is booked`,
  );
}
