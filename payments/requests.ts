// An investor's deposit and withdrawal as the API asks for them, in the caller's (idempotent)
// transaction: the ids minted here, the money decisions (offsets first, the hold) in payments/.
// The API checks who asks and for whom; what happens to the money is decided here.
import { newIds } from '../ids/new-ids';
import { workflowIds } from '../ids/workflow-ids';
import { accountPath } from '../ledger/accounts';
import type { Queryable } from '../ledger/types';
import { createDeposit } from './deposits';
import { createWithdrawal } from './payouts';

export interface MoneyRequest {
  investorId: string;
  amountMinor: bigint;
  currency: string;
  /** A verified account on file of the same investor (payments/bank-accounts.ts refusalToUse). */
  bankAccountId: string;
}

/** A collection from the investor's bank account; its workflow starts from the outbox. */
export async function requestDeposit(
  tx: Queryable,
  r: MoneyRequest,
): Promise<{ depositId: string; workflowId: string; status: 'PENDING' }> {
  const depositId = newIds.deposit();
  await createDeposit(tx, {
    id: depositId,
    investorId: r.investorId,
    amountMinor: r.amountMinor,
    currency: r.currency,
    bankAccountId: r.bankAccountId,
  });
  return { depositId, workflowId: workflowIds.deposit(depositId), status: 'PENDING' };
}

/**
 * A payout of the investor's balance to their bank account, after what they owe back
 * (payments/payouts.ts createWithdrawal): all of it may go to offsets (no payout), or the rest is
 * held and sent.
 */
export async function requestWithdrawal(tx: Queryable, r: MoneyRequest) {
  const payoutId = newIds.withdrawal();
  const w = await createWithdrawal(tx, {
    id: payoutId,
    partyId: r.investorId,
    sourceAccount: accountPath.investorAvailable(r.investorId),
    amountMinor: r.amountMinor,
    currency: r.currency,
    bankAccountId: r.bankAccountId,
  });
  return w.payoutId === null
    ? { ...w, payoutId: null, workflowId: null }
    : { ...w, payoutId, workflowId: workflowIds.payout(payoutId) };
}
