// Least privilege: the role the API, worker and dispatcher log in as (lending_app, their
// DATABASE_URL) writes rows but cannot alter the schema, nor update or delete history. What its own
// login cannot regain (RESET ROLE, SET ROLE) and the refusal of an owner's login:
// app-login.test.ts.
import type { Pool } from 'pg';
import { Ledger } from '../../ledger';
import { LedgerBatcher } from '../../ledger/batcher';
import { writeAudit } from '../../db/audit';
import { createPool } from '../../db/pool';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();
let app: Pool;
beforeAll(() => {
  app = createPool({ connectionString: db.appUrl, schema: db.schema, max: 2 });
});
afterAll(() => app?.end());

it('the application role moves money and writes the audit log, but cannot rewrite history or the schema', async () => {
  const { rows } = await app.query<{ r: string }>('SELECT current_user AS r');
  expect(rows[0].r).toBe('lending_app');
  const ledger = new Ledger(app);
  await ledger.createAccount({ path: 'investor:ada:available', currency: 'CNY' });
  const t = await ledger.transfer({
    idempotencyKey: 'role-1',
    from: 'gateway:default:clearing',
    to: 'investor:ada:available',
    amount: 100n,
    currency: 'CNY',
  });
  await writeAudit(app, { actor: 'test', action: 'test.wrote', subject: 'x' });

  for (const sql of [
    'UPDATE ledger_postings SET amount = amount + 1',
    'DELETE FROM ledger_postings',
    `UPDATE ledger_transactions SET metadata = '{}'`,
    'DELETE FROM ledger_transactions',
    `UPDATE audit_log SET actor = 'x'`,
    'DELETE FROM audit_log',
    `INSERT INTO ledger_currencies VALUES ('XXX', 2)`,
    'CREATE TABLE sneaky (id int)',
    'ALTER TABLE loans ADD COLUMN sneaky int',
    'DROP TABLE outbox',
  ]) {
    await expect(app.query(sql)).rejects.toThrow(/permission denied|must be owner/);
  }
  // The owner (the migrations' role) is the one that could, and the rows are untouched.
  const { rows: kept } = await db.pool.query(
    'SELECT count(*)::int AS n FROM ledger_postings WHERE transaction_id = $1',
    [t.transactionId],
  );
  expect(kept[0].n).toBe(2);
});

// Issue 15, item 11: the no-negative CHECK trusts the balance rows' copied allow_negative column;
// a role that could write those rows could switch the rule off or mint a balance.
it('the application role cannot write balance rows except through the ledger functions', async () => {
  const ledger = new Ledger(app);
  await ledger.createAccount({ path: 'investor:bea:available', currency: 'CNY' });
  await ledger.transfer({
    idempotencyKey: 'role-bal-1',
    from: 'gateway:default:clearing',
    to: 'investor:bea:available',
    amount: 500n,
    currency: 'CNY',
  });
  for (const sql of [
    'UPDATE ledger_balances SET allow_negative = true',
    'UPDATE ledger_balances SET posted = posted + 1000000',
    'DELETE FROM ledger_balances',
    'INSERT INTO ledger_balances (account_id, slot, allow_negative) SELECT id, 99, true FROM ledger_accounts LIMIT 1',
    'TRUNCATE ledger_balances',
    'SELECT * FROM ledger_balances FOR UPDATE',
    // The steps the entry points are made of: alone, ledger_apply could release a posted hold
    // again.
    `SELECT ledger_apply((SELECT max(id) FROM ledger_transactions), '[]'::jsonb, false, (SELECT max(id) FROM ledger_transactions))`,
    `SELECT ledger_open_transaction('k', 'h', 'posted', '{}'::jsonb, NULL, NULL, NULL)`,
    // Postings and transactions written by hand would leave the balances behind.
    `INSERT INTO ledger_transactions (idempotency_key, content_hash, kind, metadata) VALUES ('raw', 'raw', 'posted', '{}')`,
    `INSERT INTO ledger_postings (transaction_id, account_id, slot, direction, amount, currency, pending)
     SELECT max(t.id), (SELECT id FROM ledger_accounts WHERE path = 'investor:bea:available'), 0, 'C', 1, 'CNY', false FROM ledger_transactions t`,
  ]) {
    await expect(app.query(sql)).rejects.toThrow(/permission denied/);
  }
  // The ledger's own paths still work as the application role: hold, post, batch, overdraft
  // refused.
  const held = await ledger.hold({
    idempotencyKey: 'role-bal-2',
    from: 'investor:bea:available',
    to: 'gateway:default:clearing',
    amount: 200n,
    currency: 'CNY',
  });
  await ledger.postPending({ idempotencyKey: 'role-bal-3', pendingId: held.transactionId });
  const batcher = new LedgerBatcher(app);
  await batcher.transfer({
    idempotencyKey: 'role-bal-4',
    from: 'investor:bea:available',
    to: 'gateway:default:clearing',
    amount: 300n,
    currency: 'CNY',
  });
  await expect(
    ledger.transfer({
      idempotencyKey: 'role-bal-5',
      from: 'investor:bea:available',
      to: 'gateway:default:clearing',
      amount: 1n,
      currency: 'CNY',
    }),
  ).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
  const { rows } = await db.pool.query<{ posted: string; allow_negative: boolean }>(
    `SELECT sum(b.posted)::text AS posted, bool_or(b.allow_negative) AS allow_negative FROM ledger_balances b
     JOIN ledger_accounts a ON a.id = b.account_id WHERE a.path = 'investor:bea:available'`,
  );
  expect(rows[0]).toEqual({ posted: '0', allow_negative: false });
});
