// Order by order, what the gateway moved and what the ledger posted on the gateway's clearing
// account, signed alike, so the two can be compared (the chaos suite's and the demo's checks that
// the ledger equals the gateway's truth).
import { accountPath } from './accounts';
import type { Queryable } from './types';

/** The part of the gateway's record of an order that says what money it moved. */
export interface GatewayOrderMoney {
  orderNo: string;
  kind: string;
  status: string;
  amountMinor: bigint | string;
}

/**
 * What each order moved at the gateway, signed as the clearing account sees it: a payout credits
 * it (+), a collection debits it (−). An order that did not succeed moved nothing and is left out.
 */
export function gatewayNets(orders: readonly GatewayOrderMoney[]): Map<string, bigint> {
  return new Map(
    orders
      .filter((o) => o.status === 'SUCCESS')
      .map((o) => [o.orderNo, (o.kind === 'PAYOUT' ? 1n : -1n) * BigInt(o.amountMinor)]),
  );
}

/**
 * What the ledger posted (pending lines left out) for each order number on the clearing account
 * of `channel`, signed the same way; only the orders of `orderNos` when given.
 */
export async function clearingNets(
  db: Queryable,
  orderNos?: readonly string[],
  channel = 'default',
): Promise<Map<string, bigint>> {
  const { rows } = await db.query<{ order_no: string | null; net: string }>(
    `SELECT t.metadata->>'orderNo' AS order_no, sum(CASE p.direction WHEN 'C' THEN p.amount ELSE -p.amount END)::text AS net
     FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id AND NOT p.pending
     JOIN ledger_accounts a ON a.id = p.account_id AND a.path = $1
     WHERE $2::text[] IS NULL OR t.metadata->>'orderNo' = ANY($2)
     GROUP BY 1`,
    [accountPath.gatewayClearing(channel), orderNos ? [...orderNos] : null],
  );
  return new Map(rows.map((r) => [r.order_no ?? '(no order number)', BigInt(r.net)]));
}

/** The order numbers whose two nets differ (a missing one is zero). */
export function ordersDisagreeing(
  orderNos: Iterable<string>,
  gateway: ReadonlyMap<string, bigint>,
  ledger: ReadonlyMap<string, bigint>,
): string[] {
  return [...orderNos].filter((o) => (gateway.get(o) ?? 0n) !== (ledger.get(o) ?? 0n));
}
