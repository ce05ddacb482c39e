import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';

export const MIGRATIONS_DIR = join(__dirname, 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const FILE_NAME = /^(\d{4})-([a-z0-9-]+)\.sql$/;
// Any fixed number: serialises concurrent migrators on one database.
const MIGRATION_LOCK_KEY = 724_001;

/** Reads ledger/migrations/NNNN-name.sql in version order. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match) throw new Error(`migration file name must look like 0001-name.sql: ${file}`);
      const sql = readFileSync(join(dir, file), 'utf8');
      return {
        version: Number(match[1]),
        name: match[2],
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(
        `migration versions must be 1..n without gaps: found ${m.version} at position ${i + 1}`,
      );
  });
  return migrations;
}

export interface MigrateResult {
  applied: Migration[];
  alreadyApplied: number;
}

/**
 * Applies the migrations not yet applied, each in its own transaction. Safe to run twice and
 * concurrently. Refuses to run if an applied migration's file has changed: history is never edited.
 */
export async function migrate(
  pool: Pool,
  migrations: Migration[] = loadMigrations(),
): Promise<MigrateResult> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const known = new Map(rows.map((r) => [r.version, r]));
    for (const row of rows) {
      const file = migrations.find((m) => m.version === row.version);
      if (!file)
        throw new Error(
          `database has migration ${row.version}-${row.name}, which is not in this code: refusing to run an older build`,
        );
      if (file.checksum !== row.checksum) {
        throw new Error(
          `migration ${row.version}-${row.name} was edited after it was applied: add a new migration instead`,
        );
      }
    }
    const applied: Migration[] = [];
    for (const m of migrations) {
      if (known.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query(
          'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
          [m.version, m.name, m.checksum],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.version}-${m.name} failed: ${(err as Error).message}`);
      }
      applied.push(m);
    }
    return { applied, alreadyApplied: known.size };
  } finally {
    await client
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
    client.release();
  }
}
