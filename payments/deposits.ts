// Deposits in Postgres: the request, and its settlement into the ledger. No Temporal here.
import { accountPath } from '../ledger/accounts';
import { enqueueStart } from '../outbox/enqueue';
import { transfer } from '../ledger/transactions';
import type { Queryable } from '../ledger/types';
import type { BankAccount } from '../gateway/protocol';
import { workflowIds } from '../ids/workflow-ids';
import { DEFAULT_CHANNEL } from './channels';
import { orderNoFor } from './order-numbers';
import { openBankAccount } from './bank-accounts';

export type DepositStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'MANUAL_REVIEW';

export interface Deposit {
  id: string;
  investorId: string;
  amountMinor: bigint;
  currency: string;
  channel: string;
  orderNo: string;
  bankAccount: BankAccount;
  /** The account on file it collects from (payments/bank-accounts.ts), when it names one. */
  bankAccountId?: string;
  status: DepositStatus;
}

/**
 * Records the deposit with its order number (minted here, once) and asks for its workflow, in the
 * caller's transaction.
 */
export async function createDeposit(
  tx: Queryable,
  d: Omit<Deposit, 'status' | 'orderNo' | 'channel' | 'bankAccount' | 'bankAccountId'> & {
    /** Only an account on file: no number is written in clear (migration 0033). */
    bankAccountId: string;
  },
): Promise<void> {
  await tx.query(
    `INSERT INTO deposits (id, investor_id, amount_minor, currency, channel, order_no, status,
                           bank_account_id)
     VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7)`,
    [
      d.id,
      d.investorId,
      d.amountMinor.toString(),
      d.currency,
      DEFAULT_CHANNEL,
      orderNoFor(d.id, 'dp'),
      d.bankAccountId,
    ],
  );
  await enqueueStart(tx, 'depositWorkflow', workflowIds.deposit(d.id), {
    depositId: d.id,
    investorId: d.investorId,
  });
}

export async function getDeposit(db: Queryable, id: string): Promise<Deposit | undefined> {
  const { rows } = await db.query('SELECT * FROM deposits WHERE id = $1', [id]);
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: r.id,
    investorId: r.investor_id,
    amountMinor: BigInt(r.amount_minor),
    currency: r.currency,
    channel: r.channel,
    orderNo: r.order_no,
    bankAccount: r.bank_account_id ? await openBankAccount(db, r.bank_account_id) : r.bank_account,
    bankAccountId: r.bank_account_id ?? undefined,
    status: r.status,
  };
}

export async function setDepositStatus(
  db: Queryable,
  id: string,
  status: DepositStatus,
): Promise<void> {
  await db.query(
    `UPDATE deposits SET status = $2, settled_at = CASE WHEN $2 IN ('SUCCEEDED', 'FAILED') THEN now() END
                  WHERE id = $1 AND status IN ('PENDING', 'MANUAL_REVIEW')`,
    [id, status],
  );
}

/**
 * The money arrives: gateway clearing → investor, once (ledger key per deposit). Called only on a
 * verified success: the gateway's answer for our exact order, amount and currency, or an operator.
 */
export async function creditDeposit(
  db: Queryable,
  deposit: Deposit,
  evidence: Record<string, unknown>,
): Promise<string> {
  const result = await transfer(db, {
    idempotencyKey: `deposit:${deposit.id}:credit`,
    from: accountPath.gatewayClearing(deposit.channel),
    to: accountPath.investorAvailable(deposit.investorId),
    amount: deposit.amountMinor,
    currency: deposit.currency,
    metadata: {
      depositId: deposit.id,
      orderNo: deposit.orderNo,
      workflowId: workflowIds.deposit(deposit.id),
      ...evidence,
    },
  });
  await setDepositStatus(db, deposit.id, 'SUCCEEDED');
  return result.transactionId;
}
