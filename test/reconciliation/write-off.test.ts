// A recovery nobody can collect: an operator writes it off, with a reason. The loss lands on
// platform:write-offs, the receivable is cleared, the decision is in the ledger and the audit log.
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';
import type { FastifyInstance } from 'fastify';
import { Ledger } from '../../ledger';
import { OutboxDispatcher } from '../../worker/outbox-dispatcher';
import { SearchAttributes } from '../../workflows/contracts/common';
import { recoveryStateQuery } from '../../workflows/contracts/recovery';
import { useGatewayApp } from '../helpers/gateway-world';
import { drainOutbox, maybeRecordHistory } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import { admin, until } from '../repayments/helpers';
import { ACCOUNT } from '../gateway/helpers';
import { reconcile, simulatorControl, today } from './helpers';
import { operatorHeaders } from '../api/helpers';
import { workflowIds } from '../../ids/workflow-ids';
import { getRecovery } from '../../payments/recoveries';
import { approveHeld, heldApproval, verdict } from '../helpers/approvals';

const gatewayApp = useGatewayApp();
const { world, db } = gatewayApp;
let app: FastifyInstance;

beforeAll(async () => {
  app = gatewayApp.app;
  await app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'wo' },
    payload: { id: 'wendy', name: 'Wendy' },
  });
});

it('writes off what is still owed, once, with the operator and the reason on record', async () => {
  const operator = await operatorHeaders(app);
  await simulatorControl(world, '/_sim/executed', {
    kind: 'PAYOUT',
    orderNo: 'manual-transfer-7',
    amount: '30.00',
    currency: 'CNY',
  });
  const day = await reconcile(app, operator, today());
  const [exception] = day.exceptions;
  expect(exception).toMatchObject({ class: 'THEIRS_ONLY', orderNo: 'manual-transfer-7' });
  const recoveryId = `rc-${exception.id}`;
  const recover = await app.inject({
    method: 'POST',
    url: `/v1/reconciliations/default/${today()}/exceptions/${exception.id}/resolve`,
    headers: operator,
    payload: { action: 'recover', investorId: 'wendy', reason: 'sent to Wendy by hand, twice' },
  });
  // A recover opens a recovery by an operator's hand: held for a second operator, nothing opened.
  const approval = heldApproval(recover);
  expect(approval).toMatchObject({ action: 'exception.recover', amount: '30.00' });
  expect(await getRecovery(db.pool, recoveryId)).toBeUndefined();
  expect((await verdict(app, approval.id, 'approve', operator)).json().error.code).toBe(
    'APPROVAL_OWN_REQUEST',
  );
  expect(await getRecovery(db.pool, recoveryId)).toBeUndefined();
  const checker = await operatorHeaders(app);
  const approved = await verdict(app, approval.id, 'approve', checker);
  expect(approved.statusCode).toBe(200);
  expect(approved.json().result).toMatchObject({ action: 'recover', status: 'RESOLVED' });
  // The same approval again (a lost answer) is the same decision, not a second recovery.
  expect((await verdict(app, approval.id, 'approve', checker)).statusCode).toBe(200);
  const { rows: opened } = await db.pool.query(
    `SELECT id FROM recoveries WHERE exception_id = $1`,
    [exception.id],
  );
  expect(opened).toEqual([{ id: recoveryId }]);
  await drainOutbox(new OutboxDispatcher(db.pool, world.env.client), db);
  const handle = world.env.client.workflow.getHandle(workflowIds.recovery(recoveryId));
  await until(
    () => handle.query(recoveryStateQuery).catch(() => 'NOT_STARTED'),
    (s) => s === 'OFFSETTING',
    30_000,
  );
  // owed to the platform
  expect((await new Ledger(db.pool).balance('platform:recovery-receivable')).posted).toBe(-3_000n);

  expect(
    (
      await app.inject({
        method: 'POST',
        url: `/v1/recoveries/${recoveryId}/write-off`,
        headers: operator,
        payload: {},
      })
    ).statusCode,
  ).toBe(400);
  const held = await app.inject({
    method: 'POST',
    url: `/v1/recoveries/${recoveryId}/write-off`,
    headers: operator,
    payload: { reason: 'Wendy emigrated; not worth a lawsuit' },
  });
  // Every write-off waits for a second operator: nothing is written off meanwhile.
  expect(heldApproval(held)).toMatchObject({ action: 'recovery.write_off', amount: '30.00' });
  await until(
    async () => (await handle.describe()).typedSearchAttributes.get(SearchAttributes.ApprovalState),
    (s) => s === 'Pending',
    20_000,
  );
  expect(await handle.query(recoveryStateQuery)).toBe('OFFSETTING');
  expect((await new Ledger(db.pool).balance('platform:write-offs')).posted).toBe(0n);
  const written = await approveHeld(app, held);
  expect(written).toMatchObject({
    state: 'WRITTEN_OFF',
    writtenOff: '30.00',
    outstanding: '0.00',
  });
  expect(await handle.result()).toBe('WRITTEN_OFF');
  expect((await handle.describe()).typedSearchAttributes.get(SearchAttributes.RecoveryState)).toBe(
    'WrittenOff',
  );
  const again = await app.inject({
    method: 'POST',
    url: `/v1/recoveries/${recoveryId}/write-off`,
    headers: operator,
    payload: { reason: 'again' },
  });
  expect(again.statusCode).toBe(409);

  const ledger = new Ledger(db.pool);
  expect((await ledger.balance('platform:recovery-receivable')).posted).toBe(0n);
  expect((await ledger.balance('platform:write-offs')).posted).toBe(-3_000n);
  const { rows } = await db.pool.query(
    `SELECT metadata FROM ledger_transactions WHERE idempotency_key = $1`,
    [`recovery:${recoveryId}:write-off`],
  );
  expect(rows[0].metadata).toMatchObject({
    decision: 'write_off',
    reason: 'Wendy emigrated; not worth a lawsuit',
    decidedBy: expect.stringMatching(/^operator:/),
  });
  const audit = (await app.inject({ method: 'GET', url: '/v1/audit', headers: admin })).json<{
    entries: { action: string; subject: string }[];
  }>();
  expect(audit.entries.map((e) => e.action)).toEqual(
    expect.arrayContaining([
      'recovery.written_off',
      'exception.resolved',
      'approval.requested',
      'approval.approved',
    ]),
  );
  await expectLedgerConsistent(db.pool);
  await maybeRecordHistory(handle, 'recoveryWorkflow-written-off-after-approval');
}, 60_000);

it('REQUESTED: the investor is asked to pay it back through the gateway; a refused collection goes back to OFFSETTING, a paid one closes it', async () => {
  await app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'rq' },
    payload: { id: 'rick', name: 'Rick' },
  });
  // where the collection is taken from: a verified account on file
  await putVerifiedAccountOnFile(db.pool, 'rick', ACCOUNT);
  const operator = await operatorHeaders(app);
  await simulatorControl(world, '/_sim/executed', {
    kind: 'PAYOUT',
    orderNo: 'manual-transfer-8',
    amount: '45.00',
    currency: 'CNY',
  });
  const day = await reconcile(app, operator, today(), true);
  const exception = day.exceptions.find((e) => e.orderNo === 'manual-transfer-8');
  await approveHeld(
    app,
    await app.inject({
      method: 'POST',
      url: `/v1/reconciliations/default/${today()}/exceptions/${exception?.id}/resolve`,
      headers: operator,
      payload: { action: 'recover', investorId: 'rick', reason: 'paid to Rick by hand' },
    }),
  );
  await drainOutbox(new OutboxDispatcher(db.pool, world.env.client), db);
  const recoveryId = `rc-${exception?.id}`;
  const handle = world.env.client.workflow.getHandle(workflowIds.recovery(recoveryId));
  await until(
    () => handle.query(recoveryStateQuery).catch(() => 'NOT_STARTED'),
    (s) => s === 'OFFSETTING',
    30_000,
  );

  world.fault('fail:INSUFFICIENT_FUNDS'); // Rick's bank refuses the first collection
  const refused = await app.inject({
    method: 'POST',
    url: `/v1/recoveries/${recoveryId}/request-collection`,
    headers: operator,
    payload: { reason: 'asked Rick by phone' },
  });
  expect(refused.json()).toMatchObject({ state: 'OFFSETTING', outstanding: '45.00' });
  await world.reset();
  const ask = () =>
    app.inject({
      method: 'POST',
      url: `/v1/recoveries/${recoveryId}/request-collection`,
      headers: { ...operator, 'idempotency-key': `ask-${recoveryId}-2` },
      payload: { reason: 'Rick topped up his account' },
    });
  const paid = await ask();
  expect(paid.json()).toMatchObject({
    state: 'RECOVERED',
    recovered: '45.00',
    outstanding: '0.00',
  });
  // A retry under its key (the answer lost) replays it: no second collection, no 409.
  const retried = await ask();
  expect({
    status: retried.statusCode,
    body: retried.json(),
    replayed: retried.headers['idempotency-replayed'],
  }).toEqual({ status: paid.statusCode, body: paid.json(), replayed: 'true' });
  expect(await handle.result()).toBe('RECOVERED');
  const collected = world.simulator
    .truth()
    .filter((o) => o.kind === 'COLLECTION' && o.orderNo.startsWith(`rq-${recoveryId}-`));
  expect(collected.map((o) => [o.orderNo, o.status])).toEqual([
    [`rq-${recoveryId}-1`, 'FAILED'],
    [`rq-${recoveryId}-2`, 'SUCCESS'],
  ]);
  expect((await new Ledger(db.pool).balance('platform:recovery-receivable')).posted).toBe(0n);
  await expectLedgerConsistent(db.pool);
  await maybeRecordHistory(handle, 'recoveryWorkflow-requested');
}, 60_000);

it('an operator opens a recovery by hand once a second operator approves: the loss goes to suspense, the investor owes it, once per Idempotency-Key and per approval', async () => {
  const operator = { ...(await operatorHeaders(app)), 'idempotency-key': 'open-rc-1' };
  const before = await new Ledger(db.pool).balance('platform:suspense');
  const request = {
    method: 'POST' as const,
    url: '/v1/recoveries',
    headers: operator,
    payload: { investorId: 'wendy', amount: '12.50', reason: 'interest computed twice in March' },
  };
  const held = await app.inject(request);
  const approval = heldApproval(held);
  expect(approval).toMatchObject({ action: 'recovery.open', amount: '12.50' });
  const again = await app.inject(request);
  expect(again.headers['idempotency-replayed']).toBe('true');
  expect(heldApproval(again).id).toBe(approval.id);
  // Nothing is booked or opened while it waits.
  expect((await new Ledger(db.pool).balance('platform:suspense')).posted).toBe(before.posted);
  const recoveryId = approval.workflowId.replace(/^recovery-/, '');
  expect(await getRecovery(db.pool, recoveryId)).toBeUndefined();

  const checker = await operatorHeaders(app);
  const opened = await verdict(app, approval.id, 'approve', checker);
  expect(opened.statusCode).toBe(200);
  expect(opened.json().result).toMatchObject({
    id: recoveryId,
    investorId: 'wendy',
    owed: '12.50',
    outstanding: '12.50',
    openedBy: approval.requestedBy,
  });
  // The checker's retry after a lost answer opens nothing more.
  expect((await verdict(app, approval.id, 'approve', checker)).json().result.id).toBe(recoveryId);
  expect((await new Ledger(db.pool).balance('platform:suspense')).posted - before.posted).toBe(
    1_250n,
  );
  const bad = await app.inject({
    method: 'POST',
    url: '/v1/recoveries',
    headers: { ...operator, 'idempotency-key': 'open-rc-2' },
    payload: { investorId: 'wendy', amount: '-1', reason: 'negative' },
  });
  expect(bad.statusCode).toBe(400);
  await expectLedgerConsistent(db.pool);
});
