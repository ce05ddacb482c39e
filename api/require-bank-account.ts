// The one check that a deposit or withdrawal names a bank account it may use: the party's own
// (404 otherwise, as for any other party's resource), on file (not removed), verified, and for
// money out past the cooling-off of the party's newest account. Refused before anything is
// written; a withdrawal held by the cooling-off is audited (in its own transaction: the request's
// rolls back), so a stolen key's attempt to empty the balance to a new account is on record.
import { writeAudit } from '../db/audit';
import { inTransaction } from '../db/pool';
import { coolingOffUntil, refusalToUse } from '../payments/bank-accounts';
import type { Pool } from 'pg';
import type { Queryable } from '../ledger/types';
import { ApiError } from './errors';

export async function requireUsableBankAccount(
  tx: Queryable,
  q: { partyId: string; bankAccountId: string; coolingOffSeconds?: number },
  audit?: { pool: Pool; actor: string; requestId: string },
): Promise<void> {
  const refusal = await refusalToUse(tx, q);
  if (refusal === 'NOT_FOUND')
    throw new ApiError(404, 'BANK_ACCOUNT_NOT_FOUND', `no bank account ${q.bankAccountId} on file`);
  if (refusal === 'REMOVED')
    throw new ApiError(
      409,
      'BANK_ACCOUNT_REMOVED',
      `bank account ${q.bankAccountId} was taken off file: nothing is paid to or collected from it`,
    );
  if (refusal === 'NOT_VERIFIED')
    throw new ApiError(
      409,
      'BANK_ACCOUNT_NOT_VERIFIED',
      'the bank account is not verified (its penny test has not succeeded)',
    );
  if (refusal === 'COOLING_OFF') {
    const until = (await coolingOffUntil(tx, q.partyId, q.coolingOffSeconds ?? 0))?.toISOString();
    if (audit)
      await inTransaction(audit.pool, (own) =>
        writeAudit(own, {
          actor: audit.actor,
          action: 'withdrawal.held_cooling_off',
          subject: q.partyId,
          requestId: audit.requestId,
          details: { bankAccountId: q.bankAccountId, until },
        }),
      );
    throw new ApiError(
      409,
      'BANK_ACCOUNT_COOLING_OFF',
      `withdrawals wait ${q.coolingOffSeconds} s after a bank account is added: until ${until}`,
      { until },
    );
  }
}
