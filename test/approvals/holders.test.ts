// Maker-checker per person, not per key (issue 16 item 2, migration 0037): a key names its holder;
// no key of the requester's holder approves the request (403 APPROVAL_OWN_REQUEST, "same person"),
// another holder's does, and both holders are on the approval. In production an operator or admin
// key must name its holder; in test it defaults to the key's own id (per key, as before).
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { keyPolicyFor } from '../../api/key-policy';
import { ADMIN_KEY, useTestApi } from '../api/helpers';
import { heldApproval, verdict } from '../helpers/approvals';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();
const api = useTestApi(db);
const bootstrap = { authorization: `Bearer ${ADMIN_KEY}` };

const issue = (app: FastifyInstance, headers: Record<string, string>, payload: object) =>
  app.inject({ method: 'POST', url: '/v1/api-keys', headers, payload });
async function keyOf(holder?: string) {
  const res = await issue(api.app, bootstrap, { role: 'operator', ...(holder ? { holder } : {}) });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string; key: string; holder: string }>();
}
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A recovery opened by hand, held for a second operator, asked with `maker`'s key. */
async function heldRecovery(maker: { authorization: string }, tag: string) {
  return heldApproval(
    await api.app.inject({
      method: 'POST',
      url: '/v1/recoveries',
      headers: { ...maker, 'idempotency-key': `hold-${tag}` },
      payload: { investorId: 'hl-inv', amount: '12.00', reason: `paid twice (${tag})` },
    }),
  );
}

beforeAll(async () => {
  await api.partyKey('investor', 'hl-inv');
});

it("two keys of one holder cannot approve each other's request; another holder can", async () => {
  const first = await keyOf('ann@example.com');
  const second = await keyOf('ann@example.com');
  expect(first.holder).toBe('ann@example.com');
  const approval = await heldRecovery(bearer(first.key), 'ann');
  const own = await verdict(api.app, approval.id, 'approve', bearer(second.key));
  expect(own.statusCode).toBe(403);
  expect(own.json().error).toMatchObject({
    code: 'APPROVAL_OWN_REQUEST',
    message: expect.stringMatching(/same person/),
  });
  // nothing opened, still pending
  expect(
    (await db.pool.query(`SELECT status FROM approvals WHERE id = $1`, [approval.id])).rows,
  ).toEqual([{ status: 'pending' }]);
  expect(
    (await db.pool.query(`SELECT 1 FROM recoveries WHERE investor_id = 'hl-inv'`)).rowCount,
  ).toBe(0);

  const bob = await keyOf('bob@example.com');
  const approved = await verdict(api.app, approval.id, 'approve', bearer(bob.key));
  expect(approved.statusCode).toBe(200);
  expect(
    (
      await db.pool.query(`SELECT requested_holder, decided_holder FROM approvals WHERE id = $1`, [
        approval.id,
      ])
    ).rows,
  ).toEqual([{ requested_holder: 'ann@example.com', decided_holder: 'bob@example.com' }]);
  expect(
    (await db.pool.query(`SELECT 1 FROM recoveries WHERE investor_id = 'hl-inv'`)).rowCount,
  ).toBe(1);
});

it('in test, a key with no holder is its own holder: two such keys are two people', async () => {
  const maker = await keyOf();
  const checker = await keyOf();
  expect(maker.holder).toBe(maker.id);
  const approval = await heldRecovery(bearer(maker.key), 'keys');
  expect((await verdict(api.app, approval.id, 'approve', bearer(checker.key))).statusCode).toBe(
    200,
  );
});

it('rejects a malformed holder with a 400 and writes nothing', async () => {
  const before = (await db.pool.query('SELECT count(*)::int AS n FROM api_keys')).rows[0].n;
  for (const holder of ['', 'a'.repeat(129), 'ann <ann@example.com>', "x'; DROP TABLE api_keys"]) {
    const res = await issue(api.app, bootstrap, { role: 'operator', holder });
    expect(res.statusCode).toBe(400);
  }
  expect((await db.pool.query('SELECT count(*)::int AS n FROM api_keys')).rows[0].n).toBe(before);
});

it('production refuses an operator or admin key with no holder (400), and issues one naming it', async () => {
  const prod = await buildApp({
    pool: db.pool,
    adminApiKey: ADMIN_KEY,
    keyPolicy: keyPolicyFor('production', undefined),
  });
  try {
    await prod.ready();
    // no admin key was issued in this file: the bootstrap key issues the first one
    await db.pool.query(`DELETE FROM api_keys WHERE role = 'admin'`);
    const noHolder = await issue(prod, bootstrap, { role: 'admin' });
    expect(noHolder.statusCode).toBe(400);
    expect(noHolder.json().error.code).toBe('HOLDER_REQUIRED');
    const admin = await issue(prod, bootstrap, { role: 'admin', holder: 'root@example.com' });
    expect(admin.statusCode).toBe(201);
    const adminHeaders = bearer(admin.json().key);
    const operator = await issue(prod, adminHeaders, { role: 'operator' });
    expect(operator.statusCode).toBe(400);
    expect(operator.json().error.code).toBe('HOLDER_REQUIRED');
    const named = await issue(prod, adminHeaders, { role: 'operator', holder: 'ann@example.com' });
    expect(named.statusCode).toBe(201);
    expect(named.json().holder).toBe('ann@example.com');
    // an investor's key needs none
    expect((await issue(prod, adminHeaders, { role: 'investor:hl-inv' })).statusCode).toBe(201);
  } finally {
    await prod.close();
  }
});
