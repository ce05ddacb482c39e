// Payouts in Postgres: the hold before the gateway is called, and its posting or voiding after.
// No Temporal here.
import type { BankAccount } from '../gateway/protocol';
import { enqueueStart } from '../outbox/enqueue';
import { accountPath } from '../ledger/accounts';
import { hold, postPending, voidPending } from '../ledger/transactions';
import type { Metadata, Queryable } from '../ledger/types';
import { DEFAULT_CHANNEL } from './channels';
import { orderNoFor } from './order-numbers';
import { offsetFromPayout } from './recoveries';
import { openBankAccount } from './bank-accounts';
import { checkWithdrawalLimits } from './limits';
import { workflowIds } from '../ids/workflow-ids';

export type PayoutStatus = 'HELD' | 'SUCCEEDED' | 'FAILED' | 'MANUAL_REVIEW';
export type PayoutPurpose = 'withdrawal' | 'disbursement' | 'scheduled' | 'verification';

export interface Payout {
  id: string;
  purpose: PayoutPurpose;
  partyId: string;
  sourceAccount: string;
  amountMinor: bigint;
  currency: string;
  channel: string;
  orderNo: string;
  bankAccount: BankAccount;
  /** The account on file it pays (payments/bank-accounts.ts), when it names one. */
  bankAccountId?: string;
  status: PayoutStatus;
  holdTransactionId: string;
}

/**
 * A scheduled payout's installment: its payout run starts the workflow (as a child), not the
 * outbox.
 */
export interface PayoutRunRef {
  loanId: string;
  installment: number;
}

/** A new payout pays an account on file, named by id: its number is never copied (0033). */
export type NewPayout = Omit<
  Payout,
  'status' | 'orderNo' | 'channel' | 'holdTransactionId' | 'bankAccount' | 'bankAccountId'
> & {
  bankAccountId: string;
  run?: PayoutRunRef;
};

/**
 * Holds the amount on the source account, records the payout and, unless a payout run starts it,
 * asks for its workflow, in the caller's transaction. Refused with INSUFFICIENT_FUNDS when the
 * money is not there.
 */
export async function createPayout(tx: Queryable, p: NewPayout): Promise<void> {
  const held = await hold(tx, {
    idempotencyKey: `payout:${p.id}:hold`,
    from: p.sourceAccount,
    to: accountPath.gatewayClearing(DEFAULT_CHANNEL),
    amount: p.amountMinor,
    currency: p.currency,
    metadata: { payoutId: p.id, workflowId: workflowIds.payout(p.id), purpose: p.purpose },
  });
  await tx.query(
    `INSERT INTO payouts (id, purpose, party_id, source_account, amount_minor, currency, channel, order_no, status,
                          hold_transaction_id, loan_id, installment, bank_account_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'HELD', $9, $10, $11, $12)`,
    [
      p.id,
      p.purpose,
      p.partyId,
      p.sourceAccount,
      p.amountMinor.toString(),
      p.currency,
      DEFAULT_CHANNEL,
      orderNoFor(p.id, 'po'),
      held.transactionId,
      p.run?.loanId ?? null,
      p.run?.installment ?? null,
      p.bankAccountId,
    ],
  );
  if (p.run) return;
  await enqueueStart(tx, 'payoutWorkflow', workflowIds.payout(p.id), {
    payoutId: p.id,
    partyId: p.partyId,
  });
}

/**
 * A withdrawal after what its investor owes back: the offset, and the payout of the rest (null when
 * nothing is left).
 */
export interface Withdrawal {
  offsetMinor: bigint;
  payoutMinor: bigint;
  payoutId: string | null;
}

/**
 * A payout the investor asks for, in the caller's transaction: their open recoveries are offset
 * from the amount first (payments/recoveries.ts, keyed by the payout's id), as a scheduled payout
 * does, and only the rest is held and sent. Refused with INSUFFICIENT_FUNDS when the balance does
 * not hold the whole amount (the caller's transaction then rolls the offset back too).
 */
export async function createWithdrawal(
  tx: Queryable,
  p: Omit<NewPayout, 'purpose' | 'run'>,
): Promise<Withdrawal> {
  const offsetMinor = await offsetFromPayout(tx, {
    investorId: p.partyId,
    currency: p.currency,
    payoutId: p.id,
    availableMinor: p.amountMinor,
  });
  const payoutMinor = p.amountMinor - offsetMinor;
  if (payoutMinor === 0n) return { offsetMinor, payoutMinor, payoutId: null };
  // what leaves the platform counts against the investor's withdrawal limits
  await checkWithdrawalLimits(tx, {
    investorId: p.partyId,
    amountMinor: payoutMinor,
    currency: p.currency,
  });
  await createPayout(tx, { ...p, purpose: 'withdrawal', amountMinor: payoutMinor });
  return { offsetMinor, payoutMinor, payoutId: p.id };
}

export async function getPayout(db: Queryable, id: string): Promise<Payout | undefined> {
  const { rows } = await db.query('SELECT * FROM payouts WHERE id = $1', [id]);
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: r.id,
    purpose: r.purpose,
    partyId: r.party_id,
    sourceAccount: r.source_account,
    amountMinor: BigInt(r.amount_minor),
    currency: r.currency,
    channel: r.channel,
    orderNo: r.order_no,
    bankAccount: r.bank_account_id ? await openBankAccount(db, r.bank_account_id) : r.bank_account,
    bankAccountId: r.bank_account_id ?? undefined,
    status: r.status,
    holdTransactionId: String(r.hold_transaction_id),
  };
}

export async function setPayoutStatus(
  db: Queryable,
  id: string,
  status: PayoutStatus,
): Promise<void> {
  await db.query(
    `UPDATE payouts SET status = $2, settled_at = CASE WHEN $2 IN ('SUCCEEDED', 'FAILED') THEN now() END
                  WHERE id = $1 AND status IN ('HELD', 'MANUAL_REVIEW')`,
    [id, status],
  );
}

/** The gateway paid (verified, or an operator says so): post the hold, once. */
export async function postPayout(db: Queryable, payout: Payout, evidence: Metadata): Promise<void> {
  await postPending(db, {
    idempotencyKey: `payout:${payout.id}:post`,
    pendingId: payout.holdTransactionId,
    metadata: { payoutId: payout.id, orderNo: payout.orderNo, ...evidence },
  });
  await setPayoutStatus(db, payout.id, 'SUCCEEDED');
}

/** The gateway did not pay: release the hold, once. */
export async function voidPayout(db: Queryable, payout: Payout, evidence: Metadata): Promise<void> {
  await voidPending(db, {
    idempotencyKey: `payout:${payout.id}:void`,
    pendingId: payout.holdTransactionId,
    metadata: { payoutId: payout.id, orderNo: payout.orderNo, ...evidence },
  });
  await setPayoutStatus(db, payout.id, 'FAILED');
}
