// A party's bank accounts on file: added (number sealed, payments/bank-account-crypto.ts), verified
// by a penny test (a payout of 0.01 from the platform's expense through the Payout workflow), and
// the only accounts deposits and withdrawals may use. No Temporal here.
import { randomBytes } from 'node:crypto';
import { writeAudit } from '../db/audit';
import type { BankAccount } from '../gateway/protocol';
import { DEFAULT_CURRENCY } from '../ledger/currency';
import type { Queryable } from '../ledger/types';
import { bankAccountKeyring, maskAccountNo, visibleDigits } from './bank-account-crypto';
import { createPayout } from './payouts';

export type BankAccountStatus = 'VERIFYING' | 'VERIFIED' | 'FAILED' | 'REMOVED';

/** What a penny test sends: 0.01, paid by the platform. */
export const PENNY_MINOR = 1n;
export const VERIFICATION_SOURCE_ACCOUNT = 'platform:bank-verification';

export interface BankAccountListing {
  bankAccountId: string;
  bankCode: string;
  accountNoMasked: string;
  accountName: string;
  status: BankAccountStatus;
  verifiedAt: string | null;
}

/** The verification payout of an account: its id is derived, so the account needs no column. */
export const verificationPayoutId = (bankAccountId: string) => `verify-${bankAccountId}`;

/**
 * Puts the account on file and sends its penny test, in the caller's transaction; audited as a
 * change of where the party's money goes (which starts the withdrawal cooling-off).
 */
export async function addBankAccount(
  tx: Queryable,
  a: {
    partyId: string;
    account: BankAccount;
    actor: string;
    requestId?: string;
    /** On file since (a number given when the party was created): no new cooling-off starts. */
    since?: Date | string;
  },
): Promise<{ bankAccountId: string; status: 'VERIFYING' }> {
  const bankAccountId = `ba_${randomBytes(10).toString('hex')}`;
  const { accountNo, bankCode, accountName } = a.account;
  const sealed = bankAccountKeyring().seal(accountNo);
  await tx.query(
    `INSERT INTO bank_accounts (id, party_id, bank_code, account_name, account_no_ciphertext, key_id,
                                account_no_first4, account_no_last4, account_no_length, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now()))`,
    [
      bankAccountId,
      a.partyId,
      bankCode,
      accountName,
      sealed.ciphertext,
      sealed.keyId,
      visibleDigits(accountNo).first,
      visibleDigits(accountNo).last,
      accountNo.length,
      a.since ?? null,
    ],
  );
  await writeAudit(tx, {
    actor: a.actor,
    action: 'bank_account.added',
    subject: a.partyId,
    requestId: a.requestId,
    details: { bankAccountId, bankCode },
  });
  await createPayout(tx, {
    id: verificationPayoutId(bankAccountId),
    purpose: 'verification',
    partyId: a.partyId,
    sourceAccount: VERIFICATION_SOURCE_ACCOUNT,
    amountMinor: PENNY_MINOR,
    currency: DEFAULT_CURRENCY,
    bankAccountId,
  });
  return { bankAccountId, status: 'VERIFYING' };
}

/**
 * The status follows the penny test's payout (an unknown outcome stays VERIFYING, in review),
 * unless the party removed the account.
 */
const STATUS_SQL = `CASE WHEN b.removed_at IS NOT NULL THEN 'REMOVED'
                    WHEN p.status = 'SUCCEEDED' THEN 'VERIFIED' WHEN p.status = 'FAILED' THEN 'FAILED'
                    ELSE 'VERIFYING' END`;

const masked = (r: { account_no_first4: string; account_no_last4: string; n: number }) =>
  maskAccountNo(r.account_no_first4, r.account_no_last4, r.n);

export async function listBankAccounts(
  db: Queryable,
  partyId: string,
): Promise<BankAccountListing[]> {
  const { rows } = await db.query(
    `SELECT b.id, b.bank_code, b.account_name, b.account_no_first4, b.account_no_last4,
            b.account_no_length AS n, ${STATUS_SQL} AS status,
            CASE WHEN p.status = 'SUCCEEDED' THEN p.settled_at END AS verified_at
       FROM bank_accounts b JOIN payouts p ON p.bank_account_id = b.id AND p.purpose = 'verification'
      WHERE b.party_id = $1 ORDER BY b.created_at, b.id`,
    [partyId],
  );
  return rows.map((r) => ({
    bankAccountId: r.id,
    bankCode: r.bank_code,
    accountNoMasked: masked(r),
    accountName: r.account_name,
    status: r.status,
    verifiedAt: r.verified_at === null ? null : new Date(r.verified_at).toISOString(),
  }));
}

/** The account on file with its number opened: what the gateway is sent. */
export async function openBankAccount(db: Queryable, bankAccountId: string): Promise<BankAccount> {
  const { rows } = await db.query(
    `SELECT bank_code, account_name, account_no_ciphertext, key_id FROM bank_accounts WHERE id = $1`,
    [bankAccountId],
  );
  const r = rows[0];
  if (!r) throw new Error(`bank account ${bankAccountId} does not exist`);
  return {
    bankCode: r.bank_code,
    accountName: r.account_name,
    accountNo: bankAccountKeyring().open({ keyId: r.key_id, ciphertext: r.account_no_ciphertext }),
  };
}

/**
 * Whom a payout is sent to. A penny test names the party's name on file as the payee, not the name
 * typed with the number: the bank's real-name check then fails it (ACCOUNT_NAME_MISMATCH) when the
 * account is someone else's, so VERIFIED proves ownership, not only that the account exists.
 */
export async function payeeOf(
  db: Queryable,
  p: { purpose: string; partyId: string; bankAccount: BankAccount },
): Promise<BankAccount> {
  if (p.purpose !== 'verification') return p.bankAccount;
  const { rows } = await db.query<{ name: string }>('SELECT name FROM parties WHERE id = $1', [
    p.partyId,
  ]);
  if (!rows[0]) throw new Error(`party ${p.partyId} does not exist`);
  return { ...p.bankAccount, accountName: rows[0].name };
}

export type UsableRefusal = 'NOT_FOUND' | 'REMOVED' | 'NOT_VERIFIED' | 'COOLING_OFF';

/**
 * Whether the party may use this account now: its own, verified, and (for money out) no account of
 * the party added within the cooling-off period. The account row is locked against a concurrent
 * read of a half-made one; the answer is a refusal's code, or null.
 */
export async function refusalToUse(
  tx: Queryable,
  q: { partyId: string; bankAccountId: string; coolingOffSeconds?: number },
): Promise<UsableRefusal | null> {
  const { rows } = await tx.query(
    `SELECT ${STATUS_SQL} AS status,
            (SELECT max(created_at) FROM bank_accounts WHERE party_id = $1)
              > now() - make_interval(secs => $3) AS cooling
       FROM bank_accounts b JOIN payouts p ON p.bank_account_id = b.id AND p.purpose = 'verification'
      WHERE b.id = $2 AND b.party_id = $1`,
    [q.partyId, q.bankAccountId, q.coolingOffSeconds ?? 0],
  );
  if (rows.length === 0) return 'NOT_FOUND';
  if (rows[0].status === 'REMOVED') return 'REMOVED';
  if (rows[0].status !== 'VERIFIED') return 'NOT_VERIFIED';
  if (q.coolingOffSeconds && rows[0].cooling) return 'COOLING_OFF';
  return null;
}

/** When the party's cooling-off ends: its newest account's addition plus the period. */
export async function coolingOffUntil(
  db: Queryable,
  partyId: string,
  coolingOffSeconds: number,
): Promise<Date | null> {
  const { rows } = await db.query<{ until: Date | null }>(
    `SELECT max(created_at) + make_interval(secs => $2) AS until FROM bank_accounts
      WHERE party_id = $1`,
    [partyId, coolingOffSeconds],
  );
  return rows[0]?.until ?? null;
}

export type RemoveResult = { ok: true; status: 'REMOVED' } | { ok: false; code: 'NOT_FOUND' };

/**
 * Takes an account off file (a change of where the party's money goes: the new one is added and
 * verified, the old removed), audited in the caller's transaction. Removing it again answers the
 * same; payouts and deposits already made with it go on.
 */
export async function removeBankAccount(
  tx: Queryable,
  r: { partyId: string; bankAccountId: string; actor: string; requestId?: string },
): Promise<RemoveResult> {
  const { rows } = await tx.query<{ removed: boolean }>(
    `SELECT removed_at IS NOT NULL AS removed FROM bank_accounts WHERE id = $1 AND party_id = $2
     FOR UPDATE`,
    [r.bankAccountId, r.partyId],
  );
  if (!rows[0]) return { ok: false, code: 'NOT_FOUND' };
  if (rows[0].removed) return { ok: true, status: 'REMOVED' };
  await tx.query('UPDATE bank_accounts SET removed_at = now() WHERE id = $1', [r.bankAccountId]);
  await writeAudit(tx, {
    actor: r.actor,
    action: 'bank_account.removed',
    subject: r.partyId,
    requestId: r.requestId,
    details: { bankAccountId: r.bankAccountId },
  });
  return { ok: true, status: 'REMOVED' };
}

/**
 * The party's newest verified account on file that is not removed and has waited out the
 * cooling-off (verified_account_of, migration 0028), if any: where a disbursement is paid.
 */
export async function verifiedAccountOf(
  db: Queryable,
  partyId: string,
  coolingOffSeconds: number,
): Promise<string | null> {
  const { rows } = await db.query('SELECT verified_account_of($1, $2) AS id', [
    partyId,
    coolingOffSeconds,
  ]);
  return rows[0]?.id ?? null;
}
