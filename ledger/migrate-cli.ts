// `npm run migrate`: applies the ledger's migrations to DATABASE_URL.
import { createPool } from './db';
import { migrate } from './migrate';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  const pool = createPool({ connectionString: url, max: 1, applicationName: 'migrate' });
  try {
    const result = await migrate(pool);
    for (const m of result.applied) console.log(`[migrate] applied ${String(m.version).padStart(4, '0')}-${m.name}`);
    console.log(`[migrate] ${result.applied.length} applied, ${result.alreadyApplied} already there`);
  } finally {
    await pool.end();
  }
}

main().catch((err: Error) => {
  console.error(`[migrate] error: ${err.message}`);
  process.exit(1);
});
