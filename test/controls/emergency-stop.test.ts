// Issue 19 item 3, the emergency stop: while payouts are paused on a channel no new payout order
// reaches the gateway, however far its workflow had got, and it waits findable as GatewayPause =
// "Paused" with the pause in its evidence; an order already in flight finishes its query path;
// collections paused leave payouts alone; resuming is explicit, audited, and the waiting payout
// goes out once. Real Temporal, Postgres, gateway simulator, API and CLI.
import { SearchAttributes } from '../../workflows/contracts/common';
import { getPayout } from '../../payments/payouts';
import type { ReviewEvidence } from '../../workflows/contracts/gateway-order';
import { reviewEvidenceQuery } from '../../workflows/contracts/gateway-order';
import { expectLedgerConsistent } from '../ledger/helpers';
import { fundInvestor, maybeRecordHistory } from '../helpers/stack';
import { runOpsWithKey } from '../helpers/ops';
import { createInvestor, startWithdrawalPayout } from '../helpers/withdrawals';
import {
  admin,
  expectLedgerEqualsTruth,
  operatorHeaders,
  until,
  useOutcomeWorld,
} from '../outcomes/helpers';

const world = useOutcomeWorld();
const { db } = world;
/** Slow enough to pause while the first order is still being asked about. */
const QUERYING = { attempts: 6, initialIntervalMs: 1500, maxIntervalMs: 1500 };

afterEach(async () => {
  world.gateway.rule = () => undefined;
  await expectLedgerConsistent(db.pool);
  await expectLedgerEqualsTruth(db.pool, world.simulator);
});

const withdraw = (id: string) =>
  startWithdrawalPayout(world.env.client, db.pool, {
    id,
    investorId: 'es-ivy',
    amountMinor: 10_000n,
    queryPolicy: QUERYING,
  });
const evidence = (h: { query: (q: typeof reviewEvidenceQuery) => Promise<ReviewEvidence> }) =>
  h.query(reviewEvidenceQuery).catch(() => undefined);
const pauseState = async (workflowId: string) =>
  (await world.env.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(
    SearchAttributes.GatewayPause,
  );
const submitsOf = async (payoutId: string) => {
  const orderNo = (await getPayout(db.pool, payoutId))?.orderNo ?? payoutId;
  return world.gateway.callsFor(orderNo).filter((c) => c.op === 'submit').length;
};
const auditOf = async (action: string) =>
  (
    await db.pool.query(
      `SELECT actor, reason, details FROM audit_log WHERE action = $1 ORDER BY id`,
      [action],
    )
  ).rows;

it('paused payouts reach no gateway until resumed, an order in flight finishes its query path, paused collections leave payouts alone, and each change is audited', async () => {
  await createInvestor(world.app, { id: 'es-ivy', name: 'Ivy', key: 'es-ivy' });
  await fundInvestor(world.db, 'es-ivy', 1_000_000n);
  const operator = await operatorHeaders(world.app);
  const control = (verb: 'pause' | 'resume', scope: string, reason = 'two runs overlap') =>
    world.app.inject({
      method: 'POST',
      url: `/v1/controls/${verb}`,
      headers: operator,
      payload: { scope, channel: 'default', reason },
    });

  // Collections paused: a payout goes out as ever.
  expect((await control('pause', 'collections', 'bank maintenance')).json().changed).toEqual([
    'collections',
  ]);
  const free = await withdraw('es-free');
  expect(await free.result()).toBe('SUCCEEDED');

  // In flight: executed, answered 5xx, being asked about when payouts are paused.
  world.gateway.rule = (call) =>
    call.op === 'submit' && call.memo === 'withdrawal es-flight'
      ? 'error-5xx-after-execute'
      : undefined;
  const inFlight = await withdraw('es-flight');
  await until(
    () => evidence(inFlight),
    (e) => e?.state === 'QUERYING',
    30_000,
  );
  const paused = await control('pause', 'payouts');
  expect(paused.statusCode).toBe(200);
  expect(paused.json().paused.map((p: { scope: string }) => p.scope)).toEqual([
    'collections',
    'payouts',
  ]);
  expect(await inFlight.result()).toBe('SUCCEEDED'); // its queries were not stopped
  // Paused twice: the first reason stands, nothing more is audited.
  expect((await control('pause', 'all', 'again')).json().changed).toEqual([]);

  // A new payout waits, showing why, and nothing reaches the gateway.
  const held = await withdraw('es-held');
  await until(
    () => pauseState(held.workflowId),
    (s) => s === 'Paused',
    30_000,
  );
  expect((await evidence(held))?.paused).toMatchObject({
    scope: 'payouts',
    channel: 'default',
    reason: 'two runs overlap',
  });
  await new Promise((r) => setTimeout(r, 1_500));
  expect(await submitsOf('es-held')).toBe(0);
  expect((await getPayout(db.pool, 'es-held'))?.status).not.toBe('SUCCEEDED');

  // Resumed through the CLI: the waiting payout goes out once, told at once.
  const key = operator.authorization.replace('Bearer ', '');
  const cli = await runOpsWithKey(
    key,
    world.apiUrl,
    'controls',
    'resume',
    'payouts',
    '--reason',
    'runs fixed',
  );
  expect(cli.code).toBe(0);
  expect(cli.out).toContain('resumed: payouts');
  expect(await held.result()).toBe('SUCCEEDED');
  expect(await submitsOf('es-held')).toBe(1);
  expect(await pauseState(held.workflowId)).toBe('Resumed');
  await maybeRecordHistory(held, 'payoutWorkflow-paused-then-resumed');

  // Resuming what is not paused is refused and writes nothing.
  const resumedBefore = (await auditOf('controls.resumed')).length;
  const again = await control('resume', 'payouts');
  expect({ status: again.statusCode, code: again.json().error.code }).toEqual({
    status: 409,
    code: 'NOT_PAUSED',
  });
  expect(await auditOf('controls.resumed')).toHaveLength(resumedBefore);
  const listed = await world.app.inject({ method: 'GET', url: '/v1/controls', headers: operator });
  expect(listed.json().paused.map((p: { scope: string }) => p.scope)).toEqual(['collections']);
  expect((await control('resume', 'collections', 'maintenance over')).statusCode).toBe(200);

  expect((await auditOf('controls.paused')).map((r) => [r.reason, r.details.scopes])).toEqual([
    ['bank maintenance', ['collections']],
    ['two runs overlap', ['payouts']],
  ]);
  expect((await auditOf('controls.resumed')).map((r) => [r.reason, r.details.scopes])).toEqual([
    ['runs fixed', ['payouts']],
    ['maintenance over', ['collections']],
  ]);
}, 120_000);

it('refuses an unknown scope or channel and a role that is not an operator, writing nothing', async () => {
  const operator = await operatorHeaders(world.app);
  for (const payload of [
    { scope: 'everything', channel: 'default', reason: 'x'.repeat(5) },
    { scope: 'payouts', channel: 'elsewhere', reason: 'x'.repeat(5) },
    { scope: 'payouts', channel: 'default' },
  ]) {
    const res = await world.app.inject({
      method: 'POST',
      url: '/v1/controls/pause',
      headers: operator,
      payload,
    });
    expect(res.statusCode).toBe(400);
  }
  await createInvestor(world.app, { id: 'es-ned', name: 'Ned', key: 'es-ned' });
  const issued = await world.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: admin,
    payload: { role: 'investor:es-ned' },
  });
  const investor = { authorization: `Bearer ${issued.json().key}` };
  const byInvestor = await world.app.inject({
    method: 'POST',
    url: '/v1/controls/pause',
    headers: investor,
    payload: { scope: 'all', channel: 'default', reason: 'stop everything' },
  });
  expect(byInvestor.statusCode).toBe(403);
  expect((await db.pool.query('SELECT 1 FROM gateway_pauses')).rows).toEqual([]);
});
