// REQUESTED: a recovery collected from the investor's bank account through the gateway. While a
// collection is out, no payout offsets the recovery (only OFFSETTING ones are offset), so the
// debt is never taken twice. No Temporal here.
import type { Pool } from 'pg';
import type { BankAccount } from '../gateway/protocol';
import { accountPath } from '../ledger/accounts';
import { inTransaction } from '../db/pool';
import { writeAudit } from '../db/audit';
import { post, transfer } from '../ledger/transactions';
import type { Leg, Metadata, Queryable } from '../ledger/types';
import { foundCollectionSource, lockReconOrder } from '../reconciliation/order-lock';
import { DEFAULT_CHANNEL } from './channels';
import { orderNoFor } from './order-numbers';
import { workflowIds } from '../ids/workflow-ids';
import { recoveryCollectionId } from '../ids/derived';
import { openBankAccount } from './bank-accounts';

export interface RecoveryCollection {
  orderNo: string;
  recoveryId: string;
  amountMinor: bigint;
  currency: string;
  bankAccount: BankAccount;
  status: string;
}

export async function getRecoveryCollection(
  db: Queryable,
  orderNo: string,
): Promise<RecoveryCollection | undefined> {
  const { rows } = await db.query('SELECT * FROM recovery_collections WHERE order_no = $1', [
    orderNo,
  ]);
  const r = rows[0];
  return (
    r && {
      orderNo: r.order_no,
      recoveryId: r.recovery_id,
      amountMinor: BigInt(r.amount_minor),
      currency: r.currency,
      bankAccount: r.bank_account_id
        ? await openBankAccount(db, r.bank_account_id)
        : r.bank_account,
      status: r.status,
    }
  );
}

/**
 * Attempt `attempt`: an order for what is still owed, from the investor's verified bank account on
 * file; the recovery is REQUESTED. Null when there is nothing to ask (no verified account on file,
 * nothing owed, closed).
 */
export async function openRecoveryCollection(
  pool: Pool,
  recoveryId: string,
  attempt: number,
): Promise<RecoveryCollection | null> {
  return inTransaction(pool, async (tx) => {
    const orderNo = orderNoFor(recoveryCollectionId(recoveryId, attempt), 'rq');
    const existing = await getRecoveryCollection(tx, orderNo);
    if (existing) return existing;
    const {
      rows: [r],
    } = await tx.query(
      `SELECT r.*, verified_account_of(r.investor_id, 0) AS bank_account_id FROM recoveries r
        WHERE r.id = $1 FOR UPDATE OF r`,
      [recoveryId],
    );
    const owed = r
      ? BigInt(r.amount_minor) - BigInt(r.recovered_minor) - BigInt(r.written_off_minor)
      : 0n;
    if (
      !r ||
      !r.bank_account_id ||
      owed <= 0n ||
      (r.state !== 'OFFSETTING' && r.state !== 'REQUESTED')
    )
      return null;
    await tx.query(
      `INSERT INTO recovery_collections (order_no, recovery_id, attempt, amount_minor, currency, channel, bank_account_id, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'SUBMITTED')`,
      [
        orderNo,
        recoveryId,
        attempt,
        owed.toString(),
        r.currency,
        DEFAULT_CHANNEL,
        r.bank_account_id,
      ],
    );
    await tx.query(`UPDATE recoveries SET state = 'REQUESTED' WHERE id = $1`, [recoveryId]);
    return (await getRecoveryCollection(tx, orderNo)) as RecoveryCollection;
  });
}

/**
 * The investor paid it back (verified, or an operator says so): clearing ← receivable, RECOVERED.
 * Run it in a transaction.
 */
export async function recordRecoveryCollection(
  tx: Queryable,
  orderNo: string,
  evidence: Metadata,
): Promise<void> {
  {
    const c = await getRecoveryCollection(tx, orderNo);
    if (!c) throw new Error(`recovery collection ${orderNo} does not exist`);
    await transfer(tx, {
      idempotencyKey: `recovery:${c.recoveryId}:collect:${orderNo}`,
      from: accountPath.gatewayClearing(DEFAULT_CHANNEL),
      to: accountPath.platformRecoveryReceivable(),
      amount: c.amountMinor,
      currency: c.currency,
      metadata: {
        recoveryId: c.recoveryId,
        orderNo,
        workflowId: workflowIds.recovery(c.recoveryId),
        ...evidence,
      },
    });
    await tx.query(
      `UPDATE recovery_collections SET status = 'SUCCEEDED', settled_at = now() WHERE order_no = $1`,
      [orderNo],
    );
    await tx.query(
      `UPDATE recoveries SET recovered_minor = recovered_minor + $2, state = 'RECOVERED', closed_at = now() WHERE id = $1 AND state = 'REQUESTED'`,
      [c.recoveryId, c.amountMinor.toString()],
    );
  }
}

export interface FoundRecoveryCollection {
  /** Taken off the receivable: what was still owed, at most the order's amount. */
  recoveredMinor: bigint;
  /** The rest of the order (offsets took that part meanwhile): back to the investor's balance. */
  refundedMinor: bigint;
  from: string;
  /** The recovery's state after it: RECOVERED, unless it had closed otherwise before. */
  state: string;
}

/**
 * A recovery collection recorded FAILED that the gateway, asked again before a new request's order
 * replaced it, says it executed (a lie with a definitive code): booked under the key its success
 * would have had, from the clearing account (or platform:suspense, if a reconciliation adjusted it
 * meanwhile; reconciliation/order-lock.ts). Offsets may have taken part of the debt since the order
 * was made: the receivable is credited with what is still owed, never more, and the rest of the
 * money goes back to the investor's balance; the recovery is RECOVERED. Run it in a transaction;
 * safe to run twice.
 */
export async function recordFoundRecoveryCollection(
  tx: Queryable,
  orderNo: string,
  evidence: Metadata,
): Promise<FoundRecoveryCollection> {
  await lockReconOrder(tx, orderNo);
  const c = await getRecoveryCollection(tx, orderNo);
  if (!c) throw new Error(`recovery collection ${orderNo} does not exist`);
  const key = `recovery:${c.recoveryId}:collect:${orderNo}`;
  const {
    rows: [r],
  } = await tx.query(
    `SELECT r.investor_id, r.state, r.amount_minor, r.recovered_minor, r.written_off_minor, c.channel FROM recoveries r
     JOIN recovery_collections c ON c.recovery_id = r.id AND c.order_no = $2 WHERE r.id = $1 FOR UPDATE OF r, c`,
    [c.recoveryId, orderNo],
  );
  const booked = await bookedFoundCollection(tx, key, r.state);
  if (booked) return booked;
  const from = await foundCollectionSource(tx, {
    orderNo,
    channel: r.channel,
    amountMinor: c.amountMinor,
    currency: c.currency,
    ownKey: key,
  });
  const owed = BigInt(r.amount_minor) - BigInt(r.recovered_minor) - BigInt(r.written_off_minor);
  const recovered = owed <= 0n ? 0n : owed < c.amountMinor ? owed : c.amountMinor;
  const refunded = c.amountMinor - recovered;
  const posted = await post(tx, {
    idempotencyKey: key,
    legs: foundCollectionLegs(c, from, r.investor_id, recovered, refunded),
    metadata: {
      recoveryId: c.recoveryId,
      orderNo,
      workflowId: workflowIds.recovery(c.recoveryId),
      ...evidence,
      from,
      recoveredMinor: recovered.toString(),
      refundedMinor: refunded.toString(),
    },
  });
  await settleFoundCollection(tx, c.recoveryId, orderNo, recovered, owed);
  await writeAudit(tx, {
    actor: 'system:recovery',
    action: 'recovery.collection_found',
    subject: c.recoveryId,
    reason:
      'the gateway answered FAILED with a definitive code, and asked again before a new request, says it executed the order',
    details: {
      orderNo,
      amountMinor: c.amountMinor.toString(),
      recoveredMinor: recovered.toString(),
      refundedMinor: refunded.toString(),
      from,
      transactionId: posted.transactionId,
    },
    idempotencyKey: `recovery.collection_found:${orderNo}`,
  });
  const {
    rows: [after],
  } = await tx.query<{ state: string }>('SELECT state FROM recoveries WHERE id = $1', [
    c.recoveryId,
  ]);
  return { recoveredMinor: recovered, refundedMinor: refunded, from, state: after.state };
}

/**
 * Booked already (an activity retried after it committed): the same answer from the posting's
 * metadata, nothing new. Undefined when the found collection is not yet booked under `key`.
 */
async function bookedFoundCollection(
  tx: Queryable,
  key: string,
  state: string,
): Promise<FoundRecoveryCollection | undefined> {
  const { rows: done } = await tx.query<{ metadata: Record<string, string> }>(
    'SELECT metadata FROM ledger_transactions WHERE idempotency_key = $1',
    [key],
  );
  if (!done[0]) return undefined;
  const m = done[0].metadata;
  return {
    recoveredMinor: BigInt(m.recoveredMinor),
    refundedMinor: BigInt(m.refundedMinor),
    from: m.from,
    state,
  };
}

/**
 * The found collection's legs: the order's amount out of `from`, what was still owed to the
 * receivable, the rest back to the investor (no zero legs).
 */
function foundCollectionLegs(
  c: RecoveryCollection,
  from: string,
  investorId: string,
  recovered: bigint,
  refunded: bigint,
): Leg[] {
  const legs: Leg[] = [
    { account: from, direction: 'debit', amount: c.amountMinor, currency: c.currency },
  ];
  if (recovered > 0n)
    legs.push({
      account: accountPath.platformRecoveryReceivable(),
      direction: 'credit',
      amount: recovered,
      currency: c.currency,
    });
  if (refunded > 0n)
    legs.push({
      account: accountPath.investorAvailable(investorId),
      direction: 'credit',
      amount: refunded,
      currency: c.currency,
    });
  return legs;
}

/**
 * After the posting: the collection SUCCEEDED, and the recovery credited with what it recovered,
 * RECOVERED when that cleared what was owed.
 */
async function settleFoundCollection(
  tx: Queryable,
  recoveryId: string,
  orderNo: string,
  recovered: bigint,
  owed: bigint,
): Promise<void> {
  await tx.query(
    `UPDATE recovery_collections SET status = 'SUCCEEDED', settled_at = now() WHERE order_no = $1`,
    [orderNo],
  );
  const cleared = recovered === owed && recovered > 0n;
  await tx.query(
    `UPDATE recoveries SET recovered_minor = recovered_minor + $2, state = CASE WHEN $3 THEN 'RECOVERED' ELSE state END,
            closed_at = CASE WHEN $3 THEN now() ELSE closed_at END WHERE id = $1 AND state IN ('OFFSETTING', 'REQUESTED')`,
    [recoveryId, recovered.toString(), cleared],
  );
}

/**
 * Not collected (a listed failure, or an operator's not_paid): back to OFFSETTING. Or waiting for
 * an operator. Run it in a transaction.
 */
export async function setRecoveryCollectionStatus(
  tx: Queryable,
  orderNo: string,
  status: 'FAILED' | 'MANUAL_REVIEW',
): Promise<void> {
  {
    const c = await getRecoveryCollection(tx, orderNo);
    if (!c) throw new Error(`recovery collection ${orderNo} does not exist`);
    await tx.query(
      `UPDATE recovery_collections SET status = $2, settled_at = CASE WHEN $2 = 'FAILED' THEN now() END
                    WHERE order_no = $1 AND status IN ('SUBMITTED', 'MANUAL_REVIEW')`,
      [orderNo, status],
    );
    if (status === 'FAILED')
      await tx.query(
        `UPDATE recoveries SET state = 'OFFSETTING' WHERE id = $1 AND state = 'REQUESTED'`,
        [c.recoveryId],
      );
  }
}
