// Every order the platform sent the gateway, wherever it lives (payouts, deposits, repayment and
// recovery collections), found by its order number: what a gateway notice is checked against.
import type { ExpectedOrder } from '../gateway/verify-notification';
import { workflowIds } from '../ids/workflow-ids';
import type { Queryable } from '../ledger/types';

export interface KnownOrder extends ExpectedOrder {
  workflowId: string;
  /** What we recorded so far: SUCCEEDED and FAILED are final. */
  status: string;
  channel: string;
}

type OrderOwner = 'payout' | 'deposit' | 'repayment' | 'recovery';

/** The workflow that owns an order, by the one function that names it. */
function workflowOf(owner: OrderOwner, id: string, installment: number | null): string {
  switch (owner) {
    case 'payout':
      return workflowIds.payout(id);
    case 'deposit':
      return workflowIds.deposit(id);
    case 'repayment':
      return workflowIds.repayment(id, installment as number);
    case 'recovery':
      return workflowIds.recovery(id);
  }
}

/**
 * The order with this number, its expected amount, currency and kind, its owner's workflow and what
 * we recorded so far.
 */
export async function findOrder(db: Queryable, orderNo: string): Promise<KnownOrder | undefined> {
  const { rows } = await db.query<{
    amount_minor: string;
    currency: string;
    kind: 'PAYOUT' | 'COLLECTION';
    owner: OrderOwner;
    id: string;
    n: number | null;
    status: string;
    channel: string;
  }>(
    `SELECT amount_minor, currency, 'PAYOUT' AS kind, 'payout' AS owner, id, NULL::int AS n, status, channel FROM payouts WHERE order_no = $1
     UNION ALL
     SELECT amount_minor, currency, 'COLLECTION', 'deposit', id, NULL, status, channel FROM deposits WHERE order_no = $1
     UNION ALL
     SELECT amount_minor, currency, 'COLLECTION', 'repayment', loan_id, n, status, channel FROM repayment_collections WHERE order_no = $1
     UNION ALL
     SELECT amount_minor, currency, 'COLLECTION', 'recovery', recovery_id, NULL, status, channel FROM recovery_collections WHERE order_no = $1`,
    [orderNo],
  );
  const r = rows[0];
  return r
    ? {
        amountMinor: BigInt(r.amount_minor),
        currency: r.currency,
        kind: r.kind,
        workflowId: workflowOf(r.owner, r.id, r.n),
        status: r.status,
        channel: r.channel,
      }
    : undefined;
}
