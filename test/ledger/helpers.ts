import type { Pool } from 'pg';
import { Ledger, LedgerError } from '../../ledger';

/** Runs `fn` and returns the LedgerError code it threw ('ok' if it did not throw). */
export async function errorCode(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    if (err instanceof LedgerError) return err.code;
    throw err;
  }
}

/** Opens user accounts with money in them, funded from a gateway clearing account. */
export async function fundedInvestors(
  ledger: Ledger,
  ids: string[],
  amount: bigint,
  currency = 'CNY',
): Promise<string[]> {
  await ledger.createAccount({ path: 'gateway:test:clearing', currency, allowNegative: true });
  const paths: string[] = [];
  for (const id of ids) {
    const path = `investor:${id}:available`;
    await ledger.createAccount({ path, currency });
    if (amount > 0n)
      await ledger.transfer({
        idempotencyKey: `fund:${id}`,
        from: 'gateway:test:clearing',
        to: path,
        amount,
        currency,
      });
    paths.push(path);
  }
  return paths;
}

/** The ledger is balanced and every stored balance equals its recomputation. */
export async function expectLedgerConsistent(pool: Pool): Promise<void> {
  const ledger = new Ledger(pool);
  const trial = await ledger.trialBalance();
  expect(trial.lines.filter((l) => !l.balanced)).toEqual([]);
  const check = await ledger.verify();
  expect(check.drifts).toEqual([]);
  expect(check.unbalancedTransactions).toEqual([]);
  const { rows } = await pool.query(
    `SELECT a.path, sum(b.posted - b.pending_debits)::text AS available FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id
     WHERE a.type IN ('investor', 'borrower') GROUP BY a.path HAVING sum(b.posted - b.pending_debits) < 0`,
  );
  expect(rows).toEqual([]);
}
