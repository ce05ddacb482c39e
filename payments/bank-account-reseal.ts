// Reseal (issue 16 items 5 and 12), one batch per call, idempotent: (a) accounts on file sealed
// under a key that is not the current one are sealed again under it, so the old key can be dropped
// from BANK_ACCOUNT_ENCRYPTION_KEYS; (b) numbers still in clear from before accounts were on file
// are cleared: a party's is put on file (sealed, penny test) unless it is there already, and an
// order's is replaced by the account on file it names (found, or kept as a removed account, never
// usable again), so history still says which account an order went to. No Temporal here.
import { randomBytes } from 'node:crypto';
import { writeAudit } from '../db/audit';
import type { BankAccount } from '../gateway/protocol';
import type { Queryable } from '../ledger/types';
import { bankAccountKeyring, visibleDigits } from './bank-account-crypto';
import { addBankAccount } from './bank-accounts';

export interface ResealCounts {
  resealed: number;
  partiesFiled: number;
  ordersCleared: number;
}

/** Each table whose `bank_account` may hold a number in clear: its party, and how to clear it. */
const LEGACY_ORDERS = [
  {
    select: `SELECT id AS key, party_id AS party, bank_account, created_at FROM payouts
              WHERE bank_account IS NOT NULL ORDER BY id LIMIT $1 FOR UPDATE`,
    clear: `UPDATE payouts SET bank_account_id = coalesce(bank_account_id, $2), bank_account = NULL
             WHERE id = $1`,
  },
  {
    select: `SELECT id AS key, investor_id AS party, bank_account, created_at FROM deposits
              WHERE bank_account IS NOT NULL ORDER BY id LIMIT $1 FOR UPDATE`,
    clear: `UPDATE deposits SET bank_account_id = coalesce(bank_account_id, $2), bank_account = NULL
             WHERE id = $1`,
  },
  {
    select: `SELECT c.order_no AS key, l.borrower_id AS party, c.bank_account, c.created_at
               FROM repayment_collections c JOIN loans l ON l.id = c.loan_id
              WHERE c.bank_account IS NOT NULL ORDER BY c.order_no LIMIT $1 FOR UPDATE OF c`,
    clear: `UPDATE repayment_collections SET bank_account_id = coalesce(bank_account_id, $2),
                   bank_account = NULL WHERE order_no = $1`,
  },
  {
    select: `SELECT c.order_no AS key, r.investor_id AS party, c.bank_account, c.created_at
               FROM recovery_collections c JOIN recoveries r ON r.id = c.recovery_id
              WHERE c.bank_account IS NOT NULL ORDER BY c.order_no LIMIT $1 FOR UPDATE OF c`,
    clear: `UPDATE recovery_collections SET bank_account_id = coalesce(bank_account_id, $2),
                   bank_account = NULL WHERE order_no = $1`,
  },
] as const;

const REMAINING_SQL = `SELECT
    (SELECT count(*) FROM bank_accounts WHERE key_id <> $1)
  + (SELECT count(*) FROM parties WHERE bank_account IS NOT NULL)
  + (SELECT count(*) FROM payouts WHERE bank_account IS NOT NULL)
  + (SELECT count(*) FROM deposits WHERE bank_account IS NOT NULL)
  + (SELECT count(*) FROM repayment_collections WHERE bank_account IS NOT NULL)
  + (SELECT count(*) FROM recovery_collections WHERE bank_account IS NOT NULL) AS n`;

/** What is left to do: rows under an old key and numbers in clear. */
export async function resealRemaining(db: Queryable): Promise<number> {
  const { rows } = await db.query(REMAINING_SQL, [bankAccountKeyring().currentKeyId]);
  return Number(rows[0].n);
}

/** (a): up to `limit` accounts under another key, sealed again under the current one. */
async function resealUnderCurrentKey(tx: Queryable, limit: number): Promise<number> {
  const keyring = bankAccountKeyring();
  const { rows } = await tx.query(
    `SELECT id, key_id, account_no_ciphertext FROM bank_accounts WHERE key_id <> $1
      ORDER BY id LIMIT $2 FOR UPDATE`,
    [keyring.currentKeyId, limit],
  );
  for (const r of rows) {
    const sealed = keyring.seal(
      keyring.open({ keyId: r.key_id, ciphertext: r.account_no_ciphertext }),
    );
    await tx.query(
      `UPDATE bank_accounts SET account_no_ciphertext = $2, key_id = $3 WHERE id = $1 AND key_id = $4`,
      [r.id, sealed.ciphertext, sealed.keyId, r.key_id],
    );
  }
  return rows.length;
}

/** The party's account on file with this bank code, number and name, if one is. */
async function findOnFile(tx: Queryable, partyId: string, a: BankAccount): Promise<string | null> {
  const keyring = bankAccountKeyring();
  const { rows } = await tx.query(
    `SELECT id, key_id, account_no_ciphertext FROM bank_accounts
      WHERE party_id = $1 AND bank_code = $2 AND account_name = $3 AND account_no_last4 = $4
        AND account_no_length = $5 ORDER BY removed_at NULLS FIRST, created_at DESC, id`,
    [partyId, a.bankCode, a.accountName, visibleDigits(a.accountNo).last, a.accountNo.length],
  );
  const match = rows.find(
    (r) => keyring.open({ keyId: r.key_id, ciphertext: r.account_no_ciphertext }) === a.accountNo,
  );
  return match?.id ?? null;
}

/** (b) for parties: the number given at creation put on file (if not there) and cleared. */
async function fileLegacyParties(
  tx: Queryable,
  limit: number,
  actor: string,
  requestId?: string,
): Promise<number> {
  const { rows } = await tx.query(
    `SELECT id, bank_account, created_at::text FROM parties WHERE bank_account IS NOT NULL ORDER BY id LIMIT $1
     FOR UPDATE`,
    [limit],
  );
  for (const r of rows) {
    const account = r.bank_account as BankAccount;
    if (!(await findOnFile(tx, r.id, account)))
      await addBankAccount(tx, { partyId: r.id, account, actor, requestId, since: r.created_at });
    await tx.query('UPDATE parties SET bank_account = NULL WHERE id = $1', [r.id]);
  }
  return rows.length;
}

/**
 * An order's number kept as a removed account of its party: history names it, nothing new can use
 * it (no penny test: never VERIFIED, never listed); dated as the order, so no cooling-off starts.
 */
async function keepAsRemoved(
  tx: Queryable,
  partyId: string,
  a: BankAccount,
  since: Date,
): Promise<string> {
  const id = `ba_${randomBytes(10).toString('hex')}`;
  const sealed = bankAccountKeyring().seal(a.accountNo);
  await tx.query(
    `INSERT INTO bank_accounts (id, party_id, bank_code, account_name, account_no_ciphertext, key_id,
                                account_no_first4, account_no_last4, account_no_length, created_at,
                                removed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())`,
    [
      id,
      partyId,
      a.bankCode,
      a.accountName,
      sealed.ciphertext,
      sealed.keyId,
      visibleDigits(a.accountNo).first,
      visibleDigits(a.accountNo).last,
      a.accountNo.length,
      since,
    ],
  );
  return id;
}

/** (b) for orders: each names the account on file it went to; its number in clear is cleared. */
async function clearLegacyOrders(tx: Queryable, limit: number): Promise<number> {
  let cleared = 0;
  for (const table of LEGACY_ORDERS) {
    const { rows } = await tx.query(table.select, [limit - cleared]);
    for (const r of rows) {
      const account = r.bank_account as BankAccount;
      const id =
        (await findOnFile(tx, r.party, account)) ??
        (await keepAsRemoved(tx, r.party, account, r.created_at));
      await tx.query(table.clear, [r.key, id]);
    }
    cleared += rows.length;
    if (cleared >= limit) break;
  }
  return cleared;
}

/** One batch of at most `limit` rows of each kind, in the caller's transaction, audited. */
export async function resealBatch(
  tx: Queryable,
  b: { limit: number; actor: string; requestId?: string },
): Promise<ResealCounts & { remaining: number }> {
  const counts: ResealCounts = {
    resealed: await resealUnderCurrentKey(tx, b.limit),
    partiesFiled: await fileLegacyParties(tx, b.limit, b.actor, b.requestId),
    ordersCleared: await clearLegacyOrders(tx, b.limit),
  };
  if (counts.resealed + counts.partiesFiled + counts.ordersCleared > 0)
    await writeAudit(tx, {
      actor: b.actor,
      action: 'bank_accounts.resealed',
      subject: 'bank_accounts',
      requestId: b.requestId,
      details: { ...counts, keyId: bankAccountKeyring().currentKeyId },
    });
  return { ...counts, remaining: await resealRemaining(tx) };
}
