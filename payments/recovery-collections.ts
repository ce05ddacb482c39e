// REQUESTED: a recovery collected from the investor's bank account through the gateway. While a
// collection is out, no payout offsets the recovery (only OFFSETTING ones are offset), so the
// debt is never taken twice. No Temporal here.
import type { Pool } from 'pg';
import type { BankAccount } from '../gateway/protocol';
import { accountPath } from '../ledger/accounts';
import { inTransaction } from '../ledger/db';
import { transfer } from '../ledger/transactions';
import type { Metadata, Queryable } from '../ledger/types';
import { DEFAULT_CHANNEL } from './deposits';
import { orderNoFor } from './order-numbers';
import { workflowIds } from '../ids/workflow-ids';
import { recoveryCollectionId } from '../ids/derived';

export interface RecoveryCollection {
  orderNo: string;
  recoveryId: string;
  amountMinor: bigint;
  currency: string;
  bankAccount: BankAccount;
  status: string;
}

export async function getRecoveryCollection(db: Queryable, orderNo: string): Promise<RecoveryCollection | undefined> {
  const { rows } = await db.query('SELECT * FROM recovery_collections WHERE order_no = $1', [orderNo]);
  const r = rows[0];
  return r && { orderNo: r.order_no, recoveryId: r.recovery_id, amountMinor: BigInt(r.amount_minor), currency: r.currency, bankAccount: r.bank_account, status: r.status };
}

/**
 * Attempt `attempt`: an order for what is still owed, from the bank account on file; the recovery
 * is REQUESTED. Null when there is nothing to ask (no account on file, nothing owed, closed).
 */
export async function openRecoveryCollection(pool: Pool, recoveryId: string, attempt: number): Promise<RecoveryCollection | null> {
  return inTransaction(pool, async (tx) => {
    const orderNo = orderNoFor(recoveryCollectionId(recoveryId, attempt), 'rq');
    const existing = await getRecoveryCollection(tx, orderNo);
    if (existing) return existing;
    const { rows: [r] } = await tx.query(
      `SELECT r.*, p.bank_account FROM recoveries r JOIN parties p ON p.id = r.investor_id WHERE r.id = $1 FOR UPDATE OF r`, [recoveryId]);
    const owed = r ? BigInt(r.amount_minor) - BigInt(r.recovered_minor) - BigInt(r.written_off_minor) : 0n;
    if (!r || !r.bank_account || owed <= 0n || (r.state !== 'OFFSETTING' && r.state !== 'REQUESTED')) return null;
    await tx.query(
      `INSERT INTO recovery_collections (order_no, recovery_id, attempt, amount_minor, currency, channel, bank_account, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'SUBMITTED')`,
      [orderNo, recoveryId, attempt, owed.toString(), r.currency, DEFAULT_CHANNEL, JSON.stringify(r.bank_account)]);
    await tx.query(`UPDATE recoveries SET state = 'REQUESTED' WHERE id = $1`, [recoveryId]);
    return (await getRecoveryCollection(tx, orderNo)) as RecoveryCollection;
  });
}

/** The investor paid it back (verified, or an operator says so): clearing ← receivable, RECOVERED. Run it in a transaction. */
export async function recordRecoveryCollection(tx: Queryable, orderNo: string, evidence: Metadata): Promise<void> {
  {
    const c = await getRecoveryCollection(tx, orderNo);
    if (!c) throw new Error(`recovery collection ${orderNo} does not exist`);
    await transfer(tx, {
      idempotencyKey: `recovery:${c.recoveryId}:collect:${orderNo}`,
      from: accountPath.gatewayClearing(DEFAULT_CHANNEL), to: accountPath.platformRecoveryReceivable(), amount: c.amountMinor, currency: c.currency,
      metadata: { recoveryId: c.recoveryId, orderNo, workflowId: workflowIds.recovery(c.recoveryId), ...evidence },
    });
    await tx.query(`UPDATE recovery_collections SET status = 'SUCCEEDED', settled_at = now() WHERE order_no = $1`, [orderNo]);
    await tx.query(
      `UPDATE recoveries SET recovered_minor = recovered_minor + $2, state = 'RECOVERED', closed_at = now() WHERE id = $1 AND state = 'REQUESTED'`,
      [c.recoveryId, c.amountMinor.toString()]);
  }
}

/** Not collected (a listed failure, or an operator's not_paid): back to OFFSETTING. Or waiting for an operator. Run it in a transaction. */
export async function setRecoveryCollectionStatus(tx: Queryable, orderNo: string, status: 'FAILED' | 'MANUAL_REVIEW'): Promise<void> {
  {
    const c = await getRecoveryCollection(tx, orderNo);
    if (!c) throw new Error(`recovery collection ${orderNo} does not exist`);
    await tx.query(`UPDATE recovery_collections SET status = $2, settled_at = CASE WHEN $2 = 'FAILED' THEN now() END
                    WHERE order_no = $1 AND status IN ('SUBMITTED', 'MANUAL_REVIEW')`, [orderNo, status]);
    if (status === 'FAILED') await tx.query(`UPDATE recoveries SET state = 'OFFSETTING' WHERE id = $1 AND state = 'REQUESTED'`, [c.recoveryId]);
  }
}
