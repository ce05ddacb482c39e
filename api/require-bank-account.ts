// The one check that a deposit or withdrawal names a bank account it may use: the party's own
// (404 otherwise, as for any other party's resource), verified, and for money out past the
// cooling-off of the party's newest account. Refused before anything is written.
import { refusalToUse } from '../payments/bank-accounts';
import type { Queryable } from '../ledger/types';
import { ApiError } from './errors';

export async function requireUsableBankAccount(
  tx: Queryable,
  q: { partyId: string; bankAccountId: string; coolingOffSeconds?: number },
): Promise<void> {
  const refusal = await refusalToUse(tx, q);
  if (refusal === 'NOT_FOUND')
    throw new ApiError(404, 'BANK_ACCOUNT_NOT_FOUND', `no bank account ${q.bankAccountId} on file`);
  if (refusal === 'NOT_VERIFIED')
    throw new ApiError(
      409,
      'BANK_ACCOUNT_NOT_VERIFIED',
      'the bank account is not verified (its penny test has not succeeded)',
    );
  if (refusal === 'COOLING_OFF')
    throw new ApiError(
      409,
      'BANK_ACCOUNT_COOLING_OFF',
      `withdrawals wait ${q.coolingOffSeconds} s after a bank account is added`,
    );
}
