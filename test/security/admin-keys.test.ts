// Issue 16, item 3: admin keys are issued, expire and are revoked; in staging and production the
// bootstrap ADMIN_API_KEY only issues the first admin key, each admin action is attributed to its
// own key, and every key expires within a maximum lifetime. The API here is built with the policy
// server.ts derives for APP_ENV=production (api/key-policy.ts), on a real Postgres.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { DEFAULT_MAX_LIFETIME_DAYS, keyPolicyFor } from '../../api/key-policy';
import { ADMIN_KEY } from '../api/helpers';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();
const bootstrap = { authorization: `Bearer ${ADMIN_KEY}` };
const DAY_MS = 86_400_000;
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildApp({
    pool: db.pool,
    adminApiKey: ADMIN_KEY,
    keyPolicy: keyPolicyFor('production', undefined),
    failedAuthLimits: {
      maxFailures: 100_000,
      windowMs: 60_000,
      alertAt: 100_000,
      maxAddresses: 100,
    },
  });
  await app.ready();
});
afterAll(() => app.close());

// Production: operator and admin keys name their holder (test/approvals/holders.test.ts).
const issue = (headers: Record<string, string>, payload: object) =>
  app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers,
    payload: { holder: 'ops@example.com', ...payload },
  });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const auditOf = async (subject: string) =>
  (
    await db.pool.query<{ action: string; actor: string; details: Record<string, unknown> }>(
      'SELECT action, actor, details FROM audit_log WHERE subject = $1 ORDER BY id',
      [subject],
    )
  ).rows;

it('the bootstrap key issues the first admin key and nothing else; that key acts, is attributed, and can be revoked', async () => {
  // Before any admin key: the bootstrap key reaches nothing but issuing an admin key.
  const party = await app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...bootstrap, 'idempotency-key': 'inv-a' },
    payload: { id: 'inv-a', name: 'A' },
  });
  expect({ status: party.statusCode, code: party.json().error.code }).toEqual({
    status: 403,
    code: 'BOOTSTRAP_KEY_LIMITED',
  });
  const operatorByBootstrap = await issue(bootstrap, { role: 'operator' });
  expect({
    status: operatorByBootstrap.statusCode,
    code: operatorByBootstrap.json().error.code,
  }).toEqual({ status: 403, code: 'BOOTSTRAP_KEY_LIMITED' });
  expect((await db.pool.query('SELECT 1 FROM parties')).rowCount).toBe(0); // nothing written
  expect((await db.pool.query('SELECT 1 FROM api_keys')).rowCount).toBe(0);

  // Two at once: exactly one first admin key.
  const both = await Promise.all([
    issue(bootstrap, { role: 'admin' }),
    issue(bootstrap, { role: 'admin' }),
  ]);
  expect(both.map((r) => r.statusCode).sort()).toEqual([201, 403]);
  const first = both
    .find((r) => r.statusCode === 201)!
    .json<{ id: string; key: string; expiresAt: string }>();
  // an admin key is active now
  expect((await issue(bootstrap, { role: 'admin' })).statusCode).toBe(403);
  expect(await auditOf(first.id)).toEqual([
    expect.objectContaining({
      action: 'api_key.issued',
      actor: 'admin:admin-env',
      details: expect.objectContaining({ role: 'admin', byBootstrapKey: true }),
    }),
  ]);

  // The admin key acts, under its own name.
  const admin = bearer(first.key);
  const created = await app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'inv-b' },
    payload: { id: 'inv-b', name: 'B' },
  });
  expect(created.statusCode).toBe(201);
  const second = (await issue(admin, { role: 'admin' })).json<{ id: string; key: string }>();
  const operator = (await issue(admin, { role: 'operator' })).json<{ id: string }>();
  expect((await auditOf(operator.id))[0]).toMatchObject({ actor: `admin:${first.id}` });
  expect((await auditOf('inv-b'))[0]).toMatchObject({
    action: 'investor.created',
    actor: `admin:${first.id}`,
  });
  const issuedBy = await db.pool.query<{ id: string; issued_by: string }>(
    'SELECT id, issued_by FROM api_keys ORDER BY created_at, id',
  );
  expect(Object.fromEntries(issuedBy.rows.map((r) => [r.id, r.issued_by]))).toEqual({
    [first.id]: 'admin:admin-env',
    [second.id]: `admin:${first.id}`,
    [operator.id]: `admin:${first.id}`,
  });

  // Revoked by another admin key: refused from the next request on; the bootstrap key is still
  // limited while the other is active.
  expect(
    (
      await app.inject({
        method: 'DELETE',
        url: `/v1/api-keys/${first.id}`,
        headers: bearer(second.key),
      })
    ).statusCode,
  ).toBe(200);
  expect((await app.inject({ method: 'GET', url: '/v1/audit', headers: admin })).statusCode).toBe(
    401,
  );
  expect((await auditOf(first.id)).map((r) => [r.action, r.actor])).toEqual([
    ['api_key.issued', 'admin:admin-env'],
    ['api_key.revoked', `admin:${second.id}`],
  ]);
  expect((await issue(bootstrap, { role: 'admin' })).statusCode).toBe(403);

  // Even once no admin key is active (the last one revoked), the bootstrap key issued the first
  // one and issues no other.
  expect(
    (
      await app.inject({
        method: 'DELETE',
        url: `/v1/api-keys/${second.id}`,
        headers: bearer(second.key),
      })
    ).statusCode,
  ).toBe(200);
  expect((await issue(bootstrap, { role: 'admin' })).statusCode).toBe(403);
  // The recovery is the database owner's, not the API's: the retired admin keys' rows deleted
  // (the app role cannot), the bootstrap key issues a first one again; the audit log keeps them.
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL ROLE lending_app');
    await expect(client.query(`DELETE FROM api_keys WHERE role = 'admin'`)).rejects.toThrow(
      /permission denied/,
    );
    await client.query('ROLLBACK');
  } finally {
    client.release();
  }
  await db.pool.query(`DELETE FROM api_keys WHERE role = 'admin' AND revoked_at IS NOT NULL`);
  expect((await issue(bootstrap, { role: 'admin' })).statusCode).toBe(201);
  expect((await auditOf(second.id)).map((r) => r.action)).toEqual([
    'api_key.issued',
    'api_key.revoked',
  ]);
});

it('every key expires within the maximum lifetime: the maximum by default, a later expiry refused, an expired key refused', async () => {
  // a new deployment's first admin key (the owner's recovery: retired admin keys deleted)
  await db.pool.query(`DELETE FROM api_keys WHERE role = 'admin'`);
  const admin = bearer((await issue(bootstrap, { role: 'admin' })).json<{ key: string }>().key);
  const before = Date.now();
  const byDefault = (await issue(admin, { role: 'operator' })).json<{
    id: string;
    key: string;
    expiresAt: string;
  }>();
  const expiresAt = new Date(byDefault.expiresAt).getTime();
  expect(expiresAt).toBeGreaterThanOrEqual(before + DEFAULT_MAX_LIFETIME_DAYS * DAY_MS);
  expect(expiresAt).toBeLessThanOrEqual(Date.now() + DEFAULT_MAX_LIFETIME_DAYS * DAY_MS);
  const stored = await db.pool.query<{ expires_at: Date }>(
    'SELECT expires_at FROM api_keys WHERE id = $1',
    [byDefault.id],
  );
  expect(stored.rows[0].expires_at.getTime()).toBe(expiresAt);

  const tooLate = await issue(admin, {
    role: 'operator',
    expiresAt: new Date(Date.now() + (DEFAULT_MAX_LIFETIME_DAYS + 1) * DAY_MS).toISOString(),
  });
  expect({ status: tooLate.statusCode, code: tooLate.json().error.code }).toEqual({
    status: 400,
    code: 'INVALID_EXPIRY',
  });
  const sooner = await issue(admin, {
    role: 'operator',
    expiresAt: new Date(Date.now() + DAY_MS).toISOString(),
  });
  expect(sooner.statusCode).toBe(201);

  await db.pool.query(
    `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`,
    [byDefault.id],
  ); // the clock moves on
  expect(
    (
      await app.inject({
        method: 'GET',
        url: '/v1/ledger/trial-balance',
        headers: bearer(byDefault.key),
      })
    ).statusCode,
  ).toBe(401);
});

it('the app role cannot change a key after issue, except to revoke it', async () => {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL ROLE lending_app');
    await expect(client.query(`UPDATE api_keys SET expires_at = NULL`)).rejects.toThrow(
      /permission denied/,
    );
    await client.query('ROLLBACK');
    await client.query('BEGIN');
    await client.query('SET LOCAL ROLE lending_app');
    await expect(client.query(`UPDATE api_keys SET role = 'admin'`)).rejects.toThrow(
      /permission denied/,
    );
    await client.query('ROLLBACK');
    await client.query('BEGIN');
    await client.query('SET LOCAL ROLE lending_app');
    await client.query(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())`);
    await client.query('ROLLBACK');
  } finally {
    client.release();
  }
});

it('development and test keep the bootstrap key whole and keys without a cap; staging caps like production', () => {
  expect(keyPolicyFor('development', undefined)).toEqual({ bootstrapIssuesFirstAdminOnly: false });
  expect(keyPolicyFor('test', 7)).toEqual({
    bootstrapIssuesFirstAdminOnly: false,
    maxLifetimeDays: 7,
  });
  expect(keyPolicyFor('staging', undefined)).toEqual({
    bootstrapIssuesFirstAdminOnly: true,
    maxLifetimeDays: DEFAULT_MAX_LIFETIME_DAYS,
    holderRequired: true,
  });
  expect(keyPolicyFor('production', 30)).toEqual({
    bootstrapIssuesFirstAdminOnly: true,
    maxLifetimeDays: 30,
    holderRequired: true,
  });
});
