// Runs once before all test files: checks the tools exist and Postgres answers, creates the test
// database, and lets the application role log in (roles are cluster-wide).
import { existsSync } from 'node:fs';
import { Client } from 'pg';
import { allowAppRoleLogin } from '../../db/app-role';
import {
  ADMIN_DATABASE_URL,
  TEMPORAL_BIN,
  TEMPORAL_TEST_SERVER_BIN,
  TEST_DATABASE,
} from './settings';

export default async function globalSetup(): Promise<void> {
  for (const bin of [TEMPORAL_BIN, TEMPORAL_TEST_SERVER_BIN]) {
    if (!existsSync(bin))
      throw new Error(`${bin} is missing: run 'npm run setup' (or 'npm test', which installs it)`);
  }
  const client = new Client({
    connectionString: ADMIN_DATABASE_URL,
    connectionTimeoutMillis: 5_000,
  });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `Postgres is not reachable at ${ADMIN_DATABASE_URL} (${(err as Error).message}): run 'npm test', or 'npm run stack start postgres' before 'npx jest'`,
    );
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      TEST_DATABASE,
    ]);
    // CREATE DATABASE takes no bind parameters; the name is a constant of ours.
    if (rowCount === 0)
      await client.query(`CREATE DATABASE ${TEST_DATABASE}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created concurrently by another run
      });
    // The processes the tests start log in as the application role itself, as in production.
    await allowAppRoleLogin(client);
  } finally {
    await client.end();
  }
}
