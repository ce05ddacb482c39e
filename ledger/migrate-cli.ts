// `npm run migrate`: applies the ledger's migrations as the schema's owner (MIGRATION_DATABASE_URL)
// and records (or checks) the environment the database belongs to. The processes log in as the
// application role instead (DATABASE_URL), which can do neither.
import { configOrExit } from '../config/env';
import { createPool } from './db';
import { recordEnvironment } from './environment';
import { migrate } from './migrate';

async function main(): Promise<void> {
  const config = configOrExit('migrate');
  const pool = createPool({ connectionString: config.MIGRATION_DATABASE_URL as string, max: 1, applicationName: 'migrate' });
  try {
    const result = await migrate(pool);
    await recordEnvironment(pool, config.APP_ENV);
    for (const m of result.applied) console.log(`[migrate] applied ${String(m.version).padStart(4, '0')}-${m.name}`);
    console.log(`[migrate] ${result.applied.length} applied, ${result.alreadyApplied} already there; the database is ${config.APP_ENV}'s`);
  } finally {
    await pool.end();
  }
}

main().catch((err: Error) => {
  console.error(`[migrate] error: ${err.message}`);
  process.exit(1);
});
