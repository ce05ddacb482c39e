// Least privilege for real: the API, the worker and the dispatcher log in as the application role
// itself (DATABASE_URL), so no statement they run can get the schema's owner back. A session that
// had logged in as the owner and taken the role (the old `-c role=`) was one `SET ROLE NONE` away
// from it. Here a session logs in with the URL a process gets (its search_path in the URL's
// options) and tries every way back to the owner, every change of the schema and of history; then
// the start-up check that refuses an owner's login in staging and production is shown what it must
// refuse.
import { randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import {
  APP_ROLE,
  assertLeastPrivilegedLogin,
  loginRoleProblems,
  OwnerLoginRefused,
} from '../../db/app-role';
import { writeAudit } from '../../db/audit';
import { createPool } from '../../db/pool';
import { Ledger } from '../../ledger';
import { useTestDatabase } from '../helpers/postgres';
import { processDatabaseUrl, withSearchPath } from '../helpers/processes';

// Logins of this file's own (roles are cluster-wide): dropped afterwards, with what was granted to
// them.
const tag = randomBytes(4).toString('hex');
const made: string[] = [];
const pools: Pool[] = [];
let session: PoolClient | undefined;
// Before the database's hooks (registered first, run first): the pools and the roles go before the
// schema.
afterAll(async () => {
  session?.release();
  for (const p of pools.splice(0)) await p.end();
  await dropRoles();
});
/**
 * Ends the pools (their sessions log in as the roles), then drops the roles with what they own or
 * were granted.
 */
async function dropRoles(): Promise<void> {
  const theirs = pools.filter((p) => p !== app);
  pools.splice(0, pools.length, ...pools.filter((p) => p === app));
  for (const p of theirs) await p.end();
  for (const role of made.splice(0).reverse()) {
    await db.pool.query(`REASSIGN OWNED BY ${role} TO CURRENT_USER`);
    await db.pool.query(`DROP OWNED BY ${role}`);
    await db.pool.query(`DROP ROLE ${role}`);
  }
}
const db = useTestDatabase();

const pool = (url: string): Pool => {
  const p = createPool({ connectionString: url, max: 2, applicationName: 'app-login' });
  pools.push(p);
  return p;
};
/** A role of this file's own; a login's URL is the process URL with its user. */
async function role(name: string, attributes: string): Promise<string> {
  const r = `${name}_${tag}`;
  await db.pool.query(`CREATE ROLE ${r} ${attributes}`); // names and attributes of ours: [a-z0-9_ ]
  made.push(r);
  return r;
}
const loginUrl = (user: string): string => {
  const u = new URL(db.appUrl);
  u.username = user;
  return withSearchPath(u.toString(), db.schema);
};

let app: Pool;
let owner: string;
beforeAll(async () => {
  // Something to protect: a posted transfer and an audit row, written the application's way.
  app = pool(processDatabaseUrl(db));
  const ledger = new Ledger(app);
  await ledger.createAccount({ path: 'investor:ivy:available', currency: 'CNY' });
  await ledger.transfer({
    idempotencyKey: 'login-1',
    from: 'gateway:default:clearing',
    to: 'investor:ivy:available',
    amount: 700n,
    currency: 'CNY',
  });
  await writeAudit(app, { actor: 'test', action: 'test.wrote', subject: 'login-1' });
  session = await app.connect();
  ({
    rows: [{ owner }],
  } = await db.pool.query<{ owner: string }>(
    'SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = current_schema()',
  ));
});

const on = (): PoolClient => {
  if (!session) throw new Error('ready only inside tests');
  return session;
};

/** Who the session is, and whether it has any of the owner's rights. */
const whoAmI = async () =>
  (
    await on().query<{ current: string; session: string; superuser: boolean; owner: boolean }>(
      `SELECT current_user AS current, session_user AS session, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
          pg_has_role(current_user, $1, 'MEMBER') OR pg_has_role(session_user, $1, 'MEMBER') AS owner`,
      [owner],
    )
  ).rows[0];
const asApp = { current: APP_ROLE, session: APP_ROLE, superuser: false, owner: false };

it("logs in as lending_app through the process's URL, on the file's schema (search_path from the URL's options), with the UTC pin", async () => {
  expect(await whoAmI()).toEqual(asApp);
  const {
    rows: [s],
  } = await on().query<{ schema: string; tz: string }>(
    `SELECT current_schema() AS schema, current_setting('TimeZone') AS tz`,
  );
  expect(s).toEqual({ schema: db.schema, tz: 'UTC' });
  expect(owner).not.toBe(APP_ROLE);
});

it('RESET ROLE, SET ROLE NONE and RESET SESSION AUTHORIZATION leave it lending_app; SET ROLE and SET SESSION AUTHORIZATION to the owner are refused', async () => {
  await on().query('RESET ROLE');
  expect(await whoAmI()).toEqual(asApp);
  await on().query('RESET SESSION AUTHORIZATION');
  expect(await whoAmI()).toEqual(asApp);
  await on().query('SET ROLE NONE');
  expect(await whoAmI()).toEqual(asApp);
  for (const target of new Set([owner, 'postgres'])) {
    await expect(on().query(`SET ROLE ${target}`)).rejects.toThrow(/permission denied to set role/);
    await expect(on().query(`SET SESSION AUTHORIZATION ${target}`)).rejects.toThrow(
      /permission denied to set session authorization/,
    );
    await on().query('BEGIN');
    await expect(on().query(`SET LOCAL ROLE ${target}`)).rejects.toThrow(
      /permission denied to set role/,
    );
    await on().query('ROLLBACK');
  }
  await expect(on().query(`SELECT set_config('role', $1, false)`, [owner])).rejects.toThrow(
    /permission denied to set role/,
  );
  // Nor can it switch the triggers that keep history append-only off for itself.
  await expect(on().query('SET session_replication_role = replica')).rejects.toThrow(
    /permission denied to set parameter/,
  );
  expect(await whoAmI()).toEqual(asApp);

  // What this replaces, for contrast: logged in as the owner with the role taken at connection
  // start.
  const taken = await pool(
    `${db.url}?options=${encodeURIComponent(`-c search_path=${db.schema} -c role=${APP_ROLE}`)}`,
  ).connect();
  try {
    expect((await taken.query('SELECT current_user AS r')).rows[0].r).toBe(APP_ROLE);
    // RESET ROLE returns to the connection's start value (the role taken), but SET ROLE NONE and
    // SET ROLE to the login itself are open to any session: the owner is back.
    await taken.query('RESET ROLE');
    expect((await taken.query('SELECT current_user AS r')).rows[0].r).toBe(APP_ROLE);
    await taken.query('SET ROLE NONE');
    expect((await taken.query('SELECT current_user AS r')).rows[0].r).toBe('postgres');
    await taken.query(`SET ROLE ${APP_ROLE}`);
    await taken.query('SET ROLE postgres');
    expect((await taken.query('SELECT current_user AS r')).rows[0].r).toBe('postgres');
  } finally {
    taken.release();
  }
});

it('cannot change the schema, even after RESET ROLE and SET ROLE NONE', async () => {
  await on().query('RESET ROLE');
  await on().query('SET ROLE NONE');
  for (const sql of [
    'CREATE TABLE sneaky (id int)',
    'CREATE SCHEMA sneaky',
    'CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
    'ALTER TABLE ledger_postings ADD COLUMN sneaky int',
    'ALTER TABLE ledger_postings DISABLE TRIGGER ALL',
    'ALTER TABLE audit_log OWNER TO lending_app',
    'ALTER FUNCTION ledger_post(text, text, jsonb, jsonb) SECURITY INVOKER',
    'DROP FUNCTION ledger_post(text, text, jsonb, jsonb)',
    'DROP TABLE outbox',
    'DROP TABLE ledger_postings',
    `DROP SCHEMA ${db.schema} CASCADE`,
  ]) {
    await expect(on().query(sql)).rejects.toThrow(/permission denied|must be owner/);
  }
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'ledger_postings' AND column_name = 'sneaky'`,
  );
  expect(rows[0].n).toBe(0);
});

it('cannot update or delete postings, transactions or the audit log, even after RESET ROLE and SET ROLE NONE', async () => {
  await on().query('RESET ROLE');
  await on().query('SET ROLE NONE');
  for (const sql of [
    'UPDATE ledger_postings SET amount = amount + 1',
    'DELETE FROM ledger_postings',
    'TRUNCATE ledger_postings',
    `UPDATE ledger_transactions SET metadata = '{"forged": true}'`,
    'DELETE FROM ledger_transactions',
    'TRUNCATE ledger_transactions CASCADE',
    `UPDATE audit_log SET actor = 'nobody'`,
    'DELETE FROM audit_log',
    'TRUNCATE audit_log',
  ]) {
    await expect(on().query(sql)).rejects.toThrow(/permission denied/);
  }
  const {
    rows: [kept],
  } = await db.pool.query<{ postings: number; sum: string; forged: number; audit: number }>(
    `SELECT (SELECT count(*)::int FROM ledger_postings) AS postings, (SELECT sum(amount)::text FROM ledger_postings) AS sum,
            (SELECT count(*)::int FROM ledger_transactions WHERE metadata ? 'forged') AS forged,
            (SELECT count(*)::int FROM audit_log WHERE actor = 'test') AS audit`,
  );
  expect(kept).toEqual({ postings: 2, sum: '1400', forged: 0, audit: 1 });
});

describe('the start-up check (assertLeastPrivilegedLogin): what a process logs in as', () => {
  it('accepts lending_app and a plain login that is a member of it (a login per process, each with its own password)', async () => {
    expect(await loginRoleProblems(app)).toEqual({ login: APP_ROLE, problems: [] });
    const member = await role('l_member', `LOGIN IN ROLE ${APP_ROLE}`);
    expect(await loginRoleProblems(pool(loginUrl(member)))).toEqual({
      login: member,
      problems: [],
    });
    await expect(
      assertLeastPrivilegedLogin(app, 'production', () => undefined),
    ).resolves.toBeUndefined();
  });

  it('refuses the owner in staging and production, even when its URL takes the application role (SET ROLE NONE would undo it); says so and goes on in development and test', async () => {
    const taken = pool(
      `${db.url}?options=${encodeURIComponent(`-c search_path=${db.schema} -c role=${APP_ROLE}`)}`,
    );
    expect((await taken.query('SELECT current_user AS r')).rows[0].r).toBe(APP_ROLE);
    for (const ownerLogin of [db.pool, taken]) {
      expect((await loginRoleProblems(ownerLogin)).problems).toEqual(['postgres is a superuser']);
      for (const env of ['production', 'staging']) {
        const refused = await assertLeastPrivilegedLogin(ownerLogin, env, () => undefined).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(refused).toBeInstanceOf(OwnerLoginRefused);
        expect((refused as Error).message).toMatch(
          /^refusing to start: DATABASE_URL logs in as postgres, which the application must not: postgres is a superuser\. Log in as lending_app .*MIGRATION_DATABASE_URL/,
        );
      }
      const warned: string[] = [];
      await assertLeastPrivilegedLogin(ownerLogin, 'test', (m) => warned.push(m));
      expect(warned).toEqual([
        expect.stringMatching(
          /^warning: DATABASE_URL logs in as postgres, .*\(allowed in test only\)$/,
        ),
      ]);
    }
  });

  it('refuses a login that can become the owner or a superuser, or could change the schema or history', async () => {
    const su = await role('su', 'SUPERUSER NOLOGIN');
    const viaSuperuser = await role('l_via_su', `LOGIN IN ROLE ${APP_ROLE}, ${su}`);
    const createrole = await role('l_createrole', `LOGIN CREATEROLE IN ROLE ${APP_ROLE}`);
    // An owner that is not a superuser (a DBA's usual setup): the audit log is its table here.
    const tableOwner = await role('own', 'NOLOGIN');
    await db.pool.query(`ALTER TABLE audit_log OWNER TO ${tableOwner}`);
    const viaOwner = await role(
      'l_via_owner',
      `LOGIN NOINHERIT IN ROLE ${APP_ROLE}, ${tableOwner}`,
    );
    const granted = await role('l_granted', `LOGIN IN ROLE ${APP_ROLE}`);
    await db.pool.query(`GRANT UPDATE (metadata) ON ledger_transactions TO ${granted}`);
    await db.pool.query(`GRANT DELETE ON audit_log TO ${granted}`);
    await db.pool.query(`GRANT CREATE ON SCHEMA ${db.schema} TO ${granted}`);
    try {
      const problemsOf = async (login: string) =>
        (await loginRoleProblems(pool(loginUrl(login)))).problems;
      expect(await problemsOf(viaSuperuser)).toEqual([
        `${viaSuperuser} can act as the superuser ${su}`,
      ]);
      expect(await problemsOf(createrole)).toEqual([
        `${createrole} has CREATEROLE, so it can grant itself the owner's role`,
      ]);
      expect(await problemsOf(viaOwner)).toEqual([
        `${viaOwner} can act as ${tableOwner}, which owns schema ${db.schema} or objects in it`,
      ]);
      expect(await problemsOf(granted)).toEqual([
        `${granted} may CREATE in schema ${db.schema}`,
        `${granted} may UPDATE ledger_transactions (schema ${db.schema})`,
        `${granted} may DELETE audit_log (schema ${db.schema})`,
      ]);
      await expect(
        assertLeastPrivilegedLogin(pool(loginUrl(viaOwner)), 'production', () => undefined),
      ).rejects.toThrow(/refusing to start: .* can act as own_/);
    } finally {
      // At once, not after the file: a superuser role (NOLOGIN) and a login that may become it stay
      // no longer than this test.
      await db.pool.query(`ALTER TABLE audit_log OWNER TO ${owner}`);
      await dropRoles();
    }
  });
});
