// Least privilege: the role the API, worker and dispatcher act as (DATABASE_ROLE, lending_app)
// writes rows but cannot alter the schema, nor update or delete history.
import type { Pool } from 'pg';
import { Ledger } from '../../ledger';
import { writeAudit } from '../../ledger/audit';
import { createPool } from '../../ledger/db';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();
let app: Pool;
beforeAll(() => {
  app = createPool({ connectionString: db.url, schema: db.schema, role: 'lending_app', max: 2 });
});
afterAll(() => app?.end());

it('the application role moves money and writes the audit log, but cannot rewrite history or the schema', async () => {
  const { rows } = await app.query<{ r: string }>('SELECT current_user AS r');
  expect(rows[0].r).toBe('lending_app');
  const ledger = new Ledger(app);
  await ledger.createAccount({ path: 'investor:ada:available', currency: 'CNY' });
  const t = await ledger.transfer({ idempotencyKey: 'role-1', from: 'gateway:default:clearing', to: 'investor:ada:available', amount: 100n, currency: 'CNY' });
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
  const { rows: kept } = await db.pool.query('SELECT count(*)::int AS n FROM ledger_postings WHERE transaction_id = $1', [t.transactionId]);
  expect(kept[0].n).toBe(2);
});
