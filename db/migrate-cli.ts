// `npm run migrate`: applies the ledger's migrations as the schema's owner (MIGRATION_DATABASE_URL)
// and records (or checks) the environment the database belongs to. The processes log in as the
// application role instead (DATABASE_URL), which can do neither.
import { configOrExit } from '../config/env';
import { createPool } from './pool';
import { recordEnvironment } from './environment';
import { migrate } from './migrate';

async function main(): Promise<void> {
  const config = configOrExit('migrate');
  const pool = createPool({
    connectionString: config.MIGRATION_DATABASE_URL as string,
    max: 1,
    applicationName: 'migrate',
  });
  try {
    const {
      rows: [{ login }],
    } = await pool.query<{ login: string }>('SELECT session_user AS login');
    try {
      const result = await migrate(pool);
      await recordEnvironment(pool, config.APP_ENV);
      for (const m of result.applied)
        console.log(`[migrate] applied ${String(m.version).padStart(4, '0')}-${m.name}`);
      console.log(
        `[migrate] ${result.applied.length} applied, ${result.alreadyApplied} already there (as ${login}); the database is ${config.APP_ENV}'s`,
      );
    } catch (err) {
      // The application's login given by mistake: say which login it was, not only what it could
      // not do.
      if (
        (err as { code?: string }).code === '42501' ||
        /permission denied|must be owner/.test((err as Error).message)
      ) {
        throw new Error(
          `${(err as Error).message} (MIGRATION_DATABASE_URL logs in as ${login}: it must be the schema's owner, not the application role)`,
        );
      }
      throw err;
    }
  } finally {
    await pool.end();
  }
}

main().catch((err: Error) => {
  console.error(`[migrate] error: ${err.message}`);
  process.exit(1);
});
