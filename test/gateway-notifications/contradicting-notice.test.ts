// Issue 15 item 3 (and item 13's last sentence): a verified notice that contradicts what we
// recorded for a finished order (SUCCESS for a payout we voided: the incident's signal; SUCCESS
// for a deposit or recovery collection we recorded FAILED; a definitive failure for a payout we
// posted) is an alert (metric and log) and a reconciliation exception at once, not a quiet 200.
// Duplicate and late notices are counted as such, never as SUCCESS.
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { LOG_REDACTIONS } from '../../api/log-redaction';
import { signNotification, unixSeconds } from '../../gateway/signing';
import { createDeposit, setDepositStatus } from '../../payments/deposits';
import { ADMIN_KEY } from '../api/helpers';
import { ACCOUNT, SECRET } from '../gateway/helpers';
import { GatewayWorld } from '../helpers/gateway-world';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import { clearingNet, payOut, reconcile, today } from '../reconciliation/helpers';
import { admin } from '../repayments/helpers';
import { operatorHeaders } from '../api/helpers';
import { accountOnFile } from '../helpers/bank-accounts';
import { approveHeld } from '../helpers/approvals';

const world = new GatewayWorld();
let app: FastifyInstance | undefined;
const logLines: string[] = [];
afterAll(async () => {
  await app?.close();
  await world.stop(); // before the database's hooks: the worker stops before its pool closes
});
const db = useTestDatabase();
let operator: { authorization: string };

beforeAll(async () => {
  await world.start(db);
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  app = await buildApp({
    pool: db.pool,
    adminApiKey: ADMIN_KEY,
    temporal: world.env.client,
    gatewaySecret: SECRET,
    logger: { level: 'warn', redact: LOG_REDACTIONS, stream: sink },
  });
  await app.ready();
  operator = await operatorHeaders(api());
  await api().inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'nia' },
    payload: { id: 'nia', name: 'Nia' },
  });
  await fundInvestor(db, 'nia', 10_000_000n);
});
afterEach(async () => {
  await world.reset();
  await expectLedgerConsistent(db.pool);
});

function api(): FastifyInstance {
  if (!app) throw new Error('the API is ready only inside tests');
  return app;
}

let seq = 0;
const notice = (
  orderNo: string,
  kind: 'PAYOUT' | 'COLLECTION',
  amount: string,
  fields: Record<string, unknown> = {},
) => ({
  notifyId: `n-${orderNo}-${(seq += 1)}`,
  orderNo,
  kind,
  status: 'SUCCESS',
  amount,
  currency: 'CNY',
  gatewayTradeNo: `gt-${orderNo}`,
  eventSeq: 2,
  eventTime: new Date().toISOString(),
  ...fields,
});
const post = (body: object) => {
  const raw = JSON.stringify(body);
  const timestamp = unixSeconds(Date.now());
  return api().inject({
    method: 'POST',
    url: '/v1/gateway/notifications',
    payload: raw,
    headers: {
      'content-type': 'application/json',
      'x-gateway-timestamp': timestamp,
      'x-gateway-signature': signNotification(SECRET, timestamp, raw),
    },
  });
};
const metric = async (result: string): Promise<number> => {
  const body = (await api().inject({ method: 'GET', url: '/metrics' })).body;
  const m = new RegExp(`^gateway_notifications_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(
    body,
  );
  return m ? Number(m[1]) : 0;
};
const exceptionsOf = async (orderNo: string) =>
  (
    await db.pool.query(
      `SELECT id::text, run_id, class, status, kind, ours_minor::text, theirs_minor::text, party_id FROM recon_exceptions WHERE order_no = $1 ORDER BY id`,
      [orderNo],
    )
  ).rows;

it('a SUCCESS notice for a payout we voided raises an alert and opens a reconciliation exception at once', async () => {
  world.fault('lie-failed:INVALID_ACCOUNT'); // executed, answered with a listed failure: we void it
  expect(await payOut(world, db.pool, 'nt-voided', 'nia', 7_000n)).toBe('FAILED');
  await world.reset();

  const res = await post(notice('nt-voided', 'PAYOUT', '70.00'));
  expect(res.statusCode).toBe(200); // acknowledged: the gateway must not keep resending it
  expect(await metric('CONTRADICTS_RECORD')).toBe(1);
  expect(await metric('SUCCESS')).toBe(0);
  expect(logLines.join('')).toMatch(/ALERT: gateway notice contradicts a finished order/);
  const body = (await api().inject({ method: 'GET', url: '/metrics' })).body;
  expect(body).toMatch(/gateway_notice_contradictions_total\{kind="PAYOUT",recorded="FAILED"\} 1/);
  // At once, before the day's statement: an exception an operator sees.
  const run = `default:${today()}`;
  expect(await exceptionsOf('nt-voided')).toEqual([
    expect.objectContaining({
      run_id: run,
      class: 'STATUS_MISMATCH',
      status: 'OPEN',
      kind: 'PAYOUT',
      theirs_minor: '7000',
      party_id: 'nia',
    }),
  ]);
  const seen = await api().inject({
    method: 'GET',
    url: `/v1/reconciliations/default/${today()}`,
    headers: operator,
  });
  expect(seen.statusCode).toBe(200);
  expect(
    seen.json().exceptions.map((e: { orderNo: string; status: string }) => [e.orderNo, e.status]),
  ).toEqual([['nt-voided', 'OPEN']]);
  // The gateway resends it: counted as a duplicate, no second alert, no second exception.
  expect(
    (await post({ ...notice('nt-voided', 'PAYOUT', '70.00'), notifyId: 'n-nt-voided-1' }))
      .statusCode,
  ).toBe(200);
  expect(await metric('DUPLICATE')).toBe(1);
  expect(await metric('CONTRADICTS_RECORD')).toBe(1);

  // The day's reconciliation finds the same order: the same exception, not a second one.
  const day = await reconcile(api(), operator, today());
  expect(
    day.exceptions.filter((e) => e.orderNo === 'nt-voided').map((e) => [e.class, e.status]),
  ).toEqual([['STATUS_MISMATCH', 'OPEN']]);
  const [open] = await exceptionsOf('nt-voided');
  // held for a second operator, who approves it
  const recovered = await approveHeld(
    api(),
    await api().inject({
      method: 'POST',
      url: `/v1/reconciliations/default/${today()}/exceptions/${open.id}/resolve`,
      headers: operator,
      payload: { action: 'recover', reason: 'executed although answered INVALID_ACCOUNT' },
    }),
  );
  expect(recovered).toMatchObject({ action: 'recover', status: 'RESOLVED' });
  expect(await clearingNet(db.pool, 'nt-voided')).toBe(7_000n); // as at the gateway
}, 90_000);

it('a SUCCESS notice for a deposit we recorded FAILED raises an alert and opens a reconciliation exception at once', async () => {
  await createDeposit(db.pool, {
    id: 'nt-dep',
    investorId: 'nia',
    amountMinor: 4_000n,
    currency: 'CNY',
    bankAccountId: await accountOnFile(db.pool, 'nia', ACCOUNT),
  });
  // no workflow: its record says FAILED
  await db.pool.query(`DELETE FROM outbox WHERE workflow_id = 'deposit-nt-dep'`);
  await setDepositStatus(db.pool, 'nt-dep', 'FAILED');
  expect((await post(notice('nt-dep', 'COLLECTION', '40.00'))).statusCode).toBe(200);
  expect(await metric('CONTRADICTS_RECORD')).toBe(2);
  expect((await api().inject({ method: 'GET', url: '/metrics' })).body).toMatch(
    /gateway_notice_contradictions_total\{kind="COLLECTION",recorded="FAILED"\} 1/,
  );
  expect(await exceptionsOf('nt-dep')).toEqual([
    expect.objectContaining({
      class: 'STATUS_MISMATCH',
      status: 'OPEN',
      kind: 'COLLECTION',
      theirs_minor: '4000',
      party_id: 'nia',
    }),
  ]);
});

it('a SUCCESS notice for a recovery collection we recorded FAILED raises an alert and opens a reconciliation exception at once', async () => {
  await db.pool.query(
    `INSERT INTO recoveries (id, investor_id, currency, amount_minor, state, reason, opened_by) VALUES ('nt-rc', 'nia', 'CNY', 2500, 'OFFSETTING', 'test', 'op-1')`,
  );
  await db.pool.query(
    `INSERT INTO recovery_collections (order_no, recovery_id, attempt, amount_minor, currency, channel, bank_account_id, status)
     VALUES ('rq-nt-rc-1', 'nt-rc', 1, 2500, 'CNY', 'default', $1, 'FAILED')`,
    [await accountOnFile(db.pool, 'nia', ACCOUNT)],
  );
  expect((await post(notice('rq-nt-rc-1', 'COLLECTION', '25.00'))).statusCode).toBe(200);
  expect(await exceptionsOf('rq-nt-rc-1')).toEqual([
    expect.objectContaining({
      class: 'STATUS_MISMATCH',
      status: 'OPEN',
      kind: 'COLLECTION',
      theirs_minor: '2500',
      party_id: 'nia',
    }),
  ]);
  expect((await api().inject({ method: 'GET', url: '/metrics' })).body).toMatch(
    /gateway_notice_contradictions_total\{kind="COLLECTION",recorded="FAILED"\} 2/,
  );
});

it('duplicate and late notices are counted as DUPLICATE and LATE, not SUCCESS', async () => {
  expect(await payOut(world, db.pool, 'nt-paid', 'nia', 3_000n)).toBe('SUCCEEDED');
  const before = {
    success: await metric('SUCCESS'),
    late: await metric('LATE'),
    duplicate: await metric('DUPLICATE'),
  };
  const late = notice('nt-paid', 'PAYOUT', '30.00');
  // the workflow finished on its query: late, and it agrees
  expect((await post(late)).statusCode).toBe(200);
  expect((await post(late)).statusCode).toBe(200); // the same notice again
  expect(await metric('LATE')).toBe(before.late + 1);
  expect(await metric('DUPLICATE')).toBe(before.duplicate + 1);
  expect(await metric('SUCCESS')).toBe(before.success);
  // agreeing with the record: no alert, no exception
  expect(await exceptionsOf('nt-paid')).toEqual([]);
});

it('a definitive FAILED notice for a payout we posted raises an alert and opens a reconciliation exception at once', async () => {
  expect(await payOut(world, db.pool, 'nt-posted', 'nia', 2_000n)).toBe('SUCCEEDED');
  const before = await metric('CONTRADICTS_RECORD');
  expect(
    (
      await post(
        notice('nt-posted', 'PAYOUT', '20.00', { status: 'FAILED', code: 'INVALID_ACCOUNT' }),
      )
    ).statusCode,
  ).toBe(200);
  expect(await metric('CONTRADICTS_RECORD')).toBe(before + 1);
  expect((await api().inject({ method: 'GET', url: '/metrics' })).body).toMatch(
    /gateway_notice_contradictions_total\{kind="PAYOUT",recorded="SUCCEEDED"\} 1/,
  );
  expect(await exceptionsOf('nt-posted')).toEqual([
    expect.objectContaining({
      class: 'STATUS_MISMATCH',
      status: 'OPEN',
      kind: 'PAYOUT',
      ours_minor: '2000',
      theirs_minor: null,
      party_id: 'nia',
    }),
  ]);
  // A failure code not on the list is no evidence either way: late, no alert.
  expect(
    (await post(notice('nt-posted', 'PAYOUT', '20.00', { status: 'FAILED', code: 'SYSTEM_BUSY' })))
      .statusCode,
  ).toBe(200);
  expect(await metric('CONTRADICTS_RECORD')).toBe(before + 1);
});
