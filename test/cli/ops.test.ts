// The operator CLI against a real API on a real Postgres (reviews need Temporal: covered in the
// payout tests' API path).
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { runOps } from '../../cli/ops';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor } from '../helpers/stack';
import { ADMIN_KEY } from '../api/helpers';
import { runOpsAt, runOpsWithKey } from '../helpers/ops';

const db = useTestDatabase();
let app: FastifyInstance;
let apiUrl: string;

beforeAll(async () => {
  app = await buildApp({ pool: db.pool, adminApiKey: ADMIN_KEY });
  await app.listen({ host: '127.0.0.1', port: 0 });
  apiUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const res = await app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'idempotency-key': 'c1' },
    payload: { id: 'cli-ann', name: 'Ann' },
  });
  expect(res.statusCode).toBe(201);
  await fundInvestor(db, 'cli-ann', 12_345n);
});
afterAll(async () => {
  await app?.close();
});

const ops = (...args: string[]) => runOpsAt(apiUrl, ...args);

it('prints the trial balance, a balance and a statement', async () => {
  const tb = await ops('trial-balance');
  expect(tb).toMatchObject({ code: 0 });
  expect(tb.out).toMatch(/CNY {2}debits 123\.45 {2}credits 123\.45\nbalanced/);
  expect((await ops('balance', 'cli-ann')).out).toBe('cli-ann: available 123.45 CNY, held 0.00');
  const statement = await ops('statement', 'cli-ann');
  expect(statement.out).toMatch(/credit\s+123\.45\s+123\.45\nend$/);
  const asJson = JSON.parse((await ops('--json', 'balance', 'cli-ann')).out);
  expect(asJson).toMatchObject({ available: '123.45', currency: 'CNY' });
});

it('says why it refused, with exit codes 1 (refused) and 2 (bad usage), and never prints the key', async () => {
  const reviews = await ops('reviews', 'list');
  expect(reviews.code).toBe(1);
  expect(reviews.err).toMatch(/503 TEMPORAL_UNAVAILABLE/);
  const badDecision = await ops(
    'reviews',
    'resolve',
    'payout-x',
    '--decision',
    'maybe',
    '--reason',
    'why not',
  );
  expect(badDecision.code).toBe(2);
  expect(badDecision.err).toMatch(/--decision must be paid or not_paid/);
  const missing = await ops('balance', 'nobody');
  expect(missing).toMatchObject({ code: 1 });
  expect(missing.err).toMatch(/404 NOT_FOUND/);
  const noKey = await runOps(['--api-url', apiUrl, '--key-file', '/nonexistent', 'trial-balance'], {
    out: () => undefined,
    err: () => undefined,
  });
  expect(noKey).toBe(2);
  for (const r of [reviews, badDecision, missing]) expect(r.out + r.err).not.toContain(ADMIN_KEY);
});

it('reads reconciliations and recoveries, and refuses a bad action before calling the API', async () => {
  const missing = await ops('recon', 'show', '2026-01-01');
  expect(missing.code).toBe(1);
  expect(missing.err).toMatch(/404 NOT_FOUND/);
  expect(await ops('recoveries', 'list')).toMatchObject({ code: 0, out: 'no recoveries' });
  const bad = await ops(
    'recon',
    'resolve',
    '2026-01-01',
    '1',
    '--action',
    'delete',
    '--reason',
    'x',
  );
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/adjust, recover or accept/);
  // A recovery opened by hand (as the reconciliation's resolve does) is listed and shown.
  await db.pool.query(
    `INSERT INTO recoveries (id, investor_id, currency, amount_minor, state, reason, opened_by) VALUES ('rc-cli', 'cli-ann', 'CNY', 5000, 'OFFSETTING', 'paid twice', 'op')`,
  );
  const listed = await ops('recoveries', 'list', '--open');
  expect(listed.out).toMatch(
    /rc-cli\s+cli-ann\s+OFFSETTING\s+owed 50\.00\s+recovered 0\.00\s+outstanding 50\.00/,
  );
});

it('lists what waits for a second operator, refuses the requester its own approval, and approves with another key', async () => {
  const issued = await app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    payload: { role: 'operator' },
  });
  const makerKey = issued.json<{ key: string }>().key;
  const held = await app.inject({
    method: 'POST',
    url: '/v1/recoveries',
    headers: { authorization: `Bearer ${makerKey}`, 'idempotency-key': 'cli-rc-1' },
    payload: { investorId: 'cli-ann', amount: '7.00', reason: 'interest paid twice' },
  });
  expect(held.statusCode).toBe(202);
  const { id, workflowId } = held.json<{ approval: { id: string; workflowId: string } }>().approval;
  const listed = await ops('approvals', 'list');
  expect(listed.code).toBe(0);
  expect(listed.out).toContain(`${id}  recovery.open 7.00  ${workflowId}`);
  const own = await runOpsWithKey(makerKey, apiUrl, 'approvals', 'approve', id);
  expect(own.code).toBe(1);
  expect(own.err).toMatch(/403 APPROVAL_OWN_REQUEST/);
  expect(own.out + own.err).not.toContain(makerKey);
  const approved = await ops('approvals', 'approve', id, '--reason', 'checked the statement');
  expect(approved).toMatchObject({ code: 0, out: `${id}: approved; ${workflowId} is OFFSETTING` });
  expect((await ops('recoveries', 'list', '--open')).out).toMatch(/owed 7\.00/);
  expect((await ops('approvals', 'list')).out).toBe('no pending approvals');
  expect((await ops('approvals', 'reject', id)).err).toMatch(/409 APPROVAL_DECIDED/);
});
