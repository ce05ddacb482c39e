// Reads: balances, statements, the trial balance, and verify() which recomputes balances from
// postings.
import { validateAccountPath } from './accounts';
import { LedgerError } from './errors';
import type { Balance, Metadata, Queryable } from './types';

export async function balance(db: Queryable, account: string): Promise<Balance> {
  validateAccountPath(account);
  const { rows } = await db.query<{
    currency: string;
    posted: string;
    pending_debits: string;
    pending_credits: string;
  }>(
    `SELECT a.currency, sum(b.posted) AS posted, sum(b.pending_debits) AS pending_debits, sum(b.pending_credits) AS pending_credits
     FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id
     WHERE a.path = $1 GROUP BY a.id, a.currency`,
    [account],
  );
  if (rows.length === 0)
    throw new LedgerError('ACCOUNT_NOT_FOUND', `account ${account} does not exist`);
  const row = rows[0];
  const posted = BigInt(row.posted);
  const pendingDebits = BigInt(row.pending_debits);
  return {
    account,
    currency: row.currency,
    posted,
    pendingDebits,
    pendingCredits: BigInt(row.pending_credits),
    available: posted - pendingDebits,
  };
}

export interface StatementEntry {
  postingId: string;
  transactionId: string;
  kind: string;
  direction: 'debit' | 'credit';
  amount: bigint;
  /** The account's posted balance after this entry. */
  balanceAfter: bigint;
  createdAt: Date;
  metadata: Metadata;
}

export interface StatementPage {
  account: string;
  currency: string;
  entries: StatementEntry[];
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: string | null;
}

const STATEMENT_LIMIT_MAX = 1000;

/** Posted entries of an account, oldest first, with a running balance, paged by cursor. */
export async function statement(
  db: Queryable,
  account: string,
  options: { after?: string; limit?: number } = {},
): Promise<StatementPage> {
  validateAccountPath(account);
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > STATEMENT_LIMIT_MAX)
    throw new LedgerError('INVALID_INPUT', `limit must be 1..${STATEMENT_LIMIT_MAX}`);
  const after = options.after ?? '0';
  if (!/^\d{1,19}$/.test(after)) throw new LedgerError('INVALID_INPUT', 'invalid cursor');
  const { rows: accounts } = await db.query<{ id: string; currency: string }>(
    'SELECT id, currency FROM ledger_accounts WHERE path = $1',
    [account],
  );
  if (accounts.length === 0)
    throw new LedgerError('ACCOUNT_NOT_FOUND', `account ${account} does not exist`);
  const { id, currency } = accounts[0];
  // The running balance starts from everything before the cursor, then accumulates over the page.
  const { rows } = await db.query<{
    id: string;
    transaction_id: string;
    kind: string;
    direction: 'D' | 'C';
    amount: string;
    balance_after: string;
    created_at: Date;
    metadata: Metadata;
  }>(
    `WITH base AS (
       SELECT coalesce(sum(CASE direction WHEN 'C' THEN amount ELSE -amount END), 0) AS before
       FROM ledger_postings WHERE account_id = $1 AND id <= $2 AND NOT pending
     ), page AS (
       SELECT p.id, p.transaction_id, p.direction, p.amount
       FROM ledger_postings p WHERE p.account_id = $1 AND p.id > $2 AND NOT p.pending
       ORDER BY p.id LIMIT $3
     )
     SELECT page.id, page.transaction_id, t.kind, page.direction, page.amount, t.created_at, t.metadata,
            (SELECT before FROM base) + sum(CASE page.direction WHEN 'C' THEN page.amount ELSE -page.amount END) OVER (ORDER BY page.id) AS balance_after
     FROM page JOIN ledger_transactions t ON t.id = page.transaction_id
     ORDER BY page.id`,
    [id, after, limit + 1],
  );
  const more = rows.length > limit;
  const entries = rows.slice(0, limit).map((r) => ({
    postingId: r.id,
    transactionId: r.transaction_id,
    kind: r.kind,
    direction: r.direction === 'D' ? ('debit' as const) : ('credit' as const),
    amount: BigInt(r.amount),
    balanceAfter: BigInt(r.balance_after),
    createdAt: r.created_at,
    metadata: r.metadata,
  }));
  return {
    account,
    currency,
    entries,
    nextCursor: more ? entries[entries.length - 1].postingId : null,
  };
}

export interface TrialBalanceLine {
  currency: string;
  debits: bigint;
  credits: bigint;
  /** Sum of every account's posted balance: zero in a balanced ledger. */
  balanceSum: bigint;
  balanced: boolean;
}

/** Per currency: posted debits and credits over all postings, and the sum of all balances. */
export async function trialBalance(
  db: Queryable,
): Promise<{ balanced: boolean; lines: TrialBalanceLine[] }> {
  const { rows } = await db.query<{
    currency: string;
    debits: string;
    credits: string;
    balance_sum: string;
  }>(
    `WITH p AS (
       SELECT currency, sum(amount) FILTER (WHERE direction = 'D') AS debits, sum(amount) FILTER (WHERE direction = 'C') AS credits
       FROM ledger_postings WHERE NOT pending GROUP BY currency
     ), b AS (
       SELECT a.currency, sum(bal.posted) AS balance_sum
       FROM ledger_balances bal JOIN ledger_accounts a ON a.id = bal.account_id GROUP BY a.currency
     )
     SELECT coalesce(p.currency, b.currency) AS currency, coalesce(p.debits, 0) AS debits, coalesce(p.credits, 0) AS credits,
            coalesce(b.balance_sum, 0) AS balance_sum
     FROM p FULL JOIN b ON b.currency = p.currency ORDER BY 1`,
  );
  const lines = rows.map((r) => {
    const debits = BigInt(r.debits);
    const credits = BigInt(r.credits);
    const balanceSum = BigInt(r.balance_sum);
    return {
      currency: r.currency,
      debits,
      credits,
      balanceSum,
      balanced: debits === credits && balanceSum === 0n,
    };
  });
  return { balanced: lines.every((l) => l.balanced), lines };
}

export interface Drift {
  account: string;
  field: 'posted' | 'pending_debits' | 'pending_credits';
  stored: bigint;
  recomputed: bigint;
}

/**
 * Recomputes every account's balances from its postings and compares them with the stored
 * balances: posted from posted postings, pending from the postings of pending transfers not yet
 * posted or voided. Also checks every transaction balances per currency. Empty lists mean clean.
 */
export async function verify(
  db: Queryable,
): Promise<{ clean: boolean; drifts: Drift[]; unbalancedTransactions: string[] }> {
  const { rows } = await db.query<{
    path: string;
    stored_posted: string;
    posted: string;
    stored_pd: string;
    pd: string;
    stored_pc: string;
    pc: string;
  }>(
    `WITH open_pending AS (
       SELECT t.id FROM ledger_transactions t
       WHERE t.kind = 'pending' AND NOT EXISTS (SELECT 1 FROM ledger_transactions c WHERE c.pending_id = t.id)
     ), recomputed AS (
       SELECT p.account_id,
              coalesce(sum(CASE WHEN p.pending THEN 0 WHEN p.direction = 'C' THEN p.amount ELSE -p.amount END), 0) AS posted,
              coalesce(sum(p.amount) FILTER (WHERE p.pending AND p.direction = 'D' AND o.id IS NOT NULL), 0) AS pd,
              coalesce(sum(p.amount) FILTER (WHERE p.pending AND p.direction = 'C' AND o.id IS NOT NULL), 0) AS pc
       FROM ledger_postings p LEFT JOIN open_pending o ON o.id = p.transaction_id
       GROUP BY p.account_id
     ), stored AS (
       SELECT account_id, sum(posted) AS posted, sum(pending_debits) AS pd, sum(pending_credits) AS pc
       FROM ledger_balances GROUP BY account_id
     )
     SELECT a.path, s.posted AS stored_posted, coalesce(r.posted, 0) AS posted, s.pd AS stored_pd, coalesce(r.pd, 0) AS pd,
            s.pc AS stored_pc, coalesce(r.pc, 0) AS pc
     FROM stored s JOIN ledger_accounts a ON a.id = s.account_id LEFT JOIN recomputed r ON r.account_id = s.account_id
     WHERE s.posted <> coalesce(r.posted, 0) OR s.pd <> coalesce(r.pd, 0) OR s.pc <> coalesce(r.pc, 0)
     ORDER BY a.path`,
  );
  const drifts: Drift[] = [];
  for (const r of rows) {
    const pairs: [Drift['field'], string, string][] = [
      ['posted', r.stored_posted, r.posted],
      ['pending_debits', r.stored_pd, r.pd],
      ['pending_credits', r.stored_pc, r.pc],
    ];
    for (const [field, stored, recomputed] of pairs) {
      if (stored !== recomputed)
        drifts.push({
          account: r.path,
          field,
          stored: BigInt(stored),
          recomputed: BigInt(recomputed),
        });
    }
  }
  const { rows: unbalanced } = await db.query<{ transaction_id: string }>(
    `SELECT transaction_id FROM ledger_postings GROUP BY transaction_id, currency
     HAVING sum(CASE direction WHEN 'D' THEN amount ELSE -amount END) <> 0 ORDER BY 1 LIMIT 100`,
  );
  const unbalancedTransactions = unbalanced.map((u) => u.transaction_id);
  return {
    clean: drifts.length === 0 && unbalancedTransactions.length === 0,
    drifts,
    unbalancedTransactions,
  };
}
