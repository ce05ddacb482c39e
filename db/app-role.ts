// The application role (migration 0015) and the login the API, the worker and the dispatcher use.
// They log in as that role itself (DATABASE_URL), not as the schema's owner taking the role for a
// session: a session that logged in as the owner gets the owner back with a plain `SET ROLE NONE`
// (or `SET ROLE <owner>`), so any SQL run through the application (an injection, a compromised
// process) could rewrite history. Logged in as the role, RESET ROLE and SET ROLE NONE leave it
// itself. Migrations run as the owner (MIGRATION_DATABASE_URL); nothing else needs that login.
import { isDevelopmentOrTest } from '../config/env';
import type { Queryable } from '../ledger/types';

/**
 * Created NOLOGIN by migration 0015 if missing; a DBA may create it (or logins that are members of
 * it) beforehand.
 */
export const APP_ROLE = 'lending_app';

/**
 * Records that are written once and never changed or removed by the application: a login that may
 * update, delete or truncate them is not the application's. Tables not in the schema are skipped.
 */
const HISTORY_TABLES = [
  'ledger_transactions',
  'ledger_postings',
  'ledger_balances',
  'audit_log',
  'app_environment',
  'schema_migrations',
];

/**
 * The application role may log in: for the development and test clusters only (trust on loopback).
 */
const ALLOW_APP_LOGIN = `DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lending_app') THEN
    CREATE ROLE lending_app LOGIN;
  ELSIF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'lending_app') THEN
    ALTER ROLE lending_app LOGIN;
  END IF;
END $$`;

/** Another run on the same cluster created or altered the role at the same moment: look again. */
// duplicate_object, unique_violation, "tuple concurrently updated"
const CONCURRENT = new Set(['42710', '23505', 'XX000']);

/**
 * Lets the application role log in, creating it if no migration has run on the cluster yet (roles
 * are cluster-wide; migration 0015 then finds it). Idempotent. Runs as a superuser, on the dev
 * stack's, the tests' and the chaos suite's own clusters; in staging and production a DBA creates
 * the login with a password (README, "Running in production").
 */
export async function allowAppRoleLogin(owner: Queryable): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await owner.query(ALLOW_APP_LOGIN);
      return;
    } catch (err) {
      if (attempt >= 3 || !CONCURRENT.has((err as { code?: string }).code ?? '')) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

export class OwnerLoginRefused extends Error {
  override readonly name = 'OwnerLoginRefused';
}

interface LoginFacts {
  login: string;
  superuser: boolean;
  createrole: boolean;
  database: string;
  superuser_roles: string[];
  create_in_database: boolean;
  /** Schemas the login may create objects in. */
  create_in: string[];
}

/** The database's own schemas: not the catalogs, nor any session's temporary ones. */
const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

/** At most a few names, and how many more. */
const some = (names: string[]): string =>
  names.length <= 3
    ? names.join(', ')
    : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;

/**
 * What the session's login (session_user: what `SET ROLE NONE` returns to, whatever role the
 * connection took) could do that the application must not: be or become a superuser, act as the
 * owner of a schema of the database or of anything in one, create in a schema or in the database,
 * or change the history tables. Empty when the login is the application role or a plain member of
 * it. The whole database is looked at, not the search_path: a schema the login cannot use is
 * missing from it, yet a role it can take could use it.
 */
export async function loginRoleProblems(
  db: Queryable,
): Promise<{ login: string; problems: string[] }> {
  const {
    rows: [facts],
  } = await db.query<LoginFacts>(`
    SELECT l.rolname AS login, l.rolsuper AS superuser, l.rolcreaterole AS createrole, current_database() AS database,
      ARRAY(SELECT s.rolname::text FROM pg_roles s WHERE s.rolsuper AND s.oid <> l.oid AND pg_has_role(l.oid, s.oid, 'MEMBER') ORDER BY 1) AS superuser_roles,
      has_database_privilege(l.oid, current_database(), 'CREATE') AS create_in_database,
      ARRAY(SELECT n.nspname::text FROM pg_namespace n WHERE ${USER_SCHEMA} AND has_schema_privilege(l.oid, n.oid, 'CREATE') ORDER BY 1) AS create_in
    FROM pg_roles l WHERE l.rolname = session_user`);
  if (facts.superuser) return { login: facts.login, problems: [`${facts.login} is a superuser`] };
  const problems: string[] = [];
  if (facts.superuser_roles.length > 0)
    problems.push(`${facts.login} can act as the superuser ${facts.superuser_roles.join(', ')}`);
  if (facts.createrole)
    problems.push(`${facts.login} has CREATEROLE, so it can grant itself the owner's role`);
  // Owners of schemas, tables, sequences, views and functions (a session's temporary tables aside).
  const { rows: owners } = await db.query<{ owner: string; schemas: string[] }>(`
    WITH owned AS (
      SELECT n.nspowner AS owner, n.nspname AS schema FROM pg_namespace n WHERE ${USER_SCHEMA}
      UNION SELECT c.relowner, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMA} AND c.relpersistence <> 't'
      UNION SELECT p.proowner, n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMA}
    )
    SELECT pg_get_userbyid(owner)::text AS owner, array_agg(DISTINCT schema::text ORDER BY schema::text) AS schemas
    FROM owned WHERE pg_has_role(session_user, owner, 'MEMBER') GROUP BY owner ORDER BY 1`);
  for (const { owner, schemas } of owners) {
    const what = `schema ${some(schemas)} or objects in it`;
    problems.push(
      owner === facts.login
        ? `${facts.login} owns ${what}`
        : `${facts.login} can act as ${owner}, which owns ${what}`,
    );
  }
  if (facts.create_in.length > 0)
    problems.push(`${facts.login} may CREATE in schema ${some(facts.create_in)}`);
  if (facts.create_in_database)
    problems.push(`${facts.login} may CREATE schemas in database ${facts.database}`);
  const { rows: rights } = await db.query<{ name: string; rights: string[]; schemas: string[] }>(
    `
    SELECT t.name, t.rights, array_agg(t.schema ORDER BY t.schema) AS schemas FROM (
      SELECT c.relname::text AS name, n.nspname::text AS schema,
        ARRAY(SELECT p FROM unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) WITH ORDINALITY AS u(p, i)
              WHERE CASE p WHEN 'UPDATE' THEN has_any_column_privilege(session_user, c.oid, p) ELSE has_table_privilege(session_user, c.oid, p) END
              ORDER BY i) AS rights
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_SCHEMA} AND c.relname = ANY($1::text[]) AND c.relkind IN ('r', 'p')) t
    WHERE cardinality(t.rights) > 0
    GROUP BY t.name, t.rights ORDER BY array_position($1::text[], t.name), t.rights`,
    [HISTORY_TABLES],
  );
  for (const r of rights)
    problems.push(
      `${facts.login} may ${r.rights.join(', ')} ${r.name} (schema ${some(r.schemas)})`,
    );
  return { login: facts.login, problems };
}

/**
 * At a process's start, before anything else: in staging and production a DATABASE_URL that logs
 * in as the owner, a superuser or anything that can become one is refused; in development and
 * test it is said (`warn`) and allowed, so a developer's ad-hoc run still works.
 */
export async function assertLeastPrivilegedLogin(
  db: Queryable,
  appEnv: string,
  warn: (message: string) => void,
): Promise<void> {
  const { login, problems } = await loginRoleProblems(db);
  if (problems.length === 0) return;
  const message =
    `DATABASE_URL logs in as ${login}, which the application must not: ${problems.join('; ')}. ` +
    `Log in as ${APP_ROLE} (or a login that is a member of it) and keep the owner's login for the migrations (MIGRATION_DATABASE_URL): README, "Running in production"`;
  if (isDevelopmentOrTest(appEnv)) {
    warn(`warning: ${message} (allowed in ${appEnv} only)`);
    return;
  }
  throw new OwnerLoginRefused(`refusing to start: ${message}`);
}
