// Migrations: applied once, safe to run again and concurrently, and history is never edited.
import { loadMigrations, migrate } from '../../db/migrate';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();

it('is a no-op the second time, and concurrent runs apply nothing twice', async () => {
  const all = loadMigrations();
  const again = await Promise.all([migrate(db.pool), migrate(db.pool)]);
  expect(again.map((r) => r.applied.length)).toEqual([0, 0]);
  const { rows } = await db.pool.query(
    'SELECT version, name FROM schema_migrations ORDER BY version',
  );
  expect(rows).toEqual(all.map((m) => ({ version: m.version, name: m.name })));
});

it('refuses to run when an applied migration was edited', async () => {
  const edited = loadMigrations().map((m, i) =>
    i === 0 ? { ...m, sql: m.sql + '\n-- edited', checksum: 'different' } : m,
  );
  await expect(migrate(db.pool, edited)).rejects.toThrow(/was edited after it was applied/);
});

it('refuses to run code older than the database', async () => {
  await expect(migrate(db.pool, loadMigrations().slice(0, 1))).rejects.toThrow(/not in this code/);
});
