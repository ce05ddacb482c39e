import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { createPool } from '../../db/pool';
import { recordEnvironment } from '../../db/environment';
import { migrate } from '../../db/migrate';
import { TEST_APP_DATABASE_URL, TEST_DATABASE_URL } from './settings';

export interface TestDatabase {
  /**
   * A pool whose search_path is this file's own schema, with every migration applied, logged in as
   * the owner.
   */
  readonly pool: Pool;
  readonly schema: string;
  /** The owner's login (the pool's): fixtures may do what the application cannot. */
  readonly url: string;
  /**
   * The application role's own login, as the processes use it (pass `schema`, or see
   * processDatabaseUrl).
   */
  readonly appUrl: string;
}

/**
 * Gives the calling test file a fresh schema on the real Postgres, migrated, and drops it
 * afterwards. Call at the top level of a test file; use the result inside tests (the pool exists
 * after beforeAll).
 */
export function useTestDatabase(options: { poolSize?: number } = {}): TestDatabase {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  let pool: Pool | undefined;
  const db: TestDatabase = {
    get pool(): Pool {
      if (!pool) throw new Error('the test database is ready only inside tests (after beforeAll)');
      return pool;
    },
    schema,
    url: TEST_DATABASE_URL,
    appUrl: TEST_APP_DATABASE_URL,
  };
  beforeAll(async () => {
    const admin = createPool({ connectionString: TEST_DATABASE_URL, max: 1 });
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
    } finally {
      await admin.end();
    }
    pool = createPool({
      connectionString: TEST_DATABASE_URL,
      schema,
      max: options.poolSize ?? 10,
      applicationName: 'jest',
    });
    await migrate(pool);
    await recordEnvironment(pool, 'test');
  });
  afterAll(async () => {
    await pool?.end();
    const admin = createPool({ connectionString: TEST_DATABASE_URL, max: 1 });
    try {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await admin.end();
    }
  });
  return db;
}
