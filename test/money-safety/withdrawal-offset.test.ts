// Issue 15, item 8: a withdrawal clears what its investor owes back first, as a scheduled payout
// does: the open recovery is offset from the amount, and only the rest is held and sent. Through
// the API, the outbox, the Payout and Recovery workflows on a real Temporal dev server and the
// real gateway simulator.
import { approveHeld } from '../helpers/approvals';
import type { FastifyInstance } from 'fastify';
import { Ledger } from '../../ledger';
import { getRecovery } from '../../payments/recoveries';
import { OutboxDispatcher } from '../../worker/outbox-dispatcher';
import { ACCOUNT } from '../gateway/helpers';
import { useGatewayApp } from '../helpers/gateway-world';
import { drainOutbox, fundInvestor } from '../helpers/stack';
import { addVerifiedBankAccount } from '../helpers/bank-accounts';
import { expectLedgerConsistent } from '../ledger/helpers';
import { admin, expectLedgerEqualsGateway } from '../repayments/helpers';
import { operatorHeaders } from '../api/helpers';
import { workflowIds } from '../../ids/workflow-ids';

const gatewayApp = useGatewayApp();
const { world, db } = gatewayApp;
let app: FastifyInstance;
let operator: { authorization: string };

beforeAll(async () => {
  app = gatewayApp.app;
  operator = await operatorHeaders(app);
});

afterEach(async () => {
  await expectLedgerConsistent(db.pool);
  await expectLedgerEqualsGateway(db.pool, world.simulator);
});

async function investorOwing(
  id: string,
  owed: string,
): Promise<{ auth: { authorization: string }; recoveryId: string; bankAccountId: string }> {
  await app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': `inv-${id}` },
    payload: { id, name: id },
  });
  const key = (
    await app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: admin,
      payload: { role: `investor:${id}` },
    })
  ).json().key as string;
  await fundInvestor(db, id, 100_000n);
  const bankAccountId = await addVerifiedBankAccount(app, world.env.client, db, {
    partyId: id,
    authorization: `Bearer ${key}`,
    account: ACCOUNT,
  });
  const opened = await app.inject({
    method: 'POST',
    url: '/v1/recoveries',
    headers: { ...operator, 'idempotency-key': `rc-${id}` },
    payload: { investorId: id, amount: owed, reason: 'paid twice by hand' },
  });
  const recoveryId = (await approveHeld<{ id: string }>(app, opened)).id;
  await drainOutbox(new OutboxDispatcher(db.pool, world.env.client), db);
  return {
    auth: { authorization: `Bearer ${key}` },
    recoveryId,
    bankAccountId,
  };
}

it('a withdrawal offsets the open recovery first and sends only the rest', async () => {
  const { auth, recoveryId, bankAccountId } = await investorOwing('wo-ann', '30.00');
  const res = await app.inject({
    method: 'POST',
    url: '/v1/investors/wo-ann/withdrawals',
    headers: { ...auth, 'idempotency-key': 'wd-ann' },
    payload: { amount: '100.00', bankAccountId },
  });
  expect(res.statusCode).toBe(202);
  const { payoutId } = res.json();
  expect(
    (await db.pool.query('SELECT amount_minor::text FROM payouts WHERE id = $1', [payoutId]))
      .rows[0].amount_minor,
  ).toBe('7000');
  expect(res.json()).toMatchObject({ status: 'HELD', amount: '70.00', offset: '30.00' });
  expect(
    (
      await db.pool.query(
        'SELECT payout_id, amount_minor::text FROM recovery_offsets WHERE recovery_id = $1',
        [recoveryId],
      )
    ).rows,
  ).toEqual([{ payout_id: payoutId, amount_minor: '3000' }]);

  await drainOutbox(new OutboxDispatcher(db.pool, world.env.client), db);
  expect(await world.env.client.workflow.getHandle(workflowIds.payout(payoutId)).result()).toBe(
    'SUCCEEDED',
  );
  expect(await world.env.client.workflow.getHandle(workflowIds.recovery(recoveryId)).result()).toBe(
    'RECOVERED',
  );
  expect(
    world.simulator
      .truth()
      .filter((o) => o.kind === 'PAYOUT' && !o.orderNo.startsWith('verify-'))
      .map((o) => o.amountMinor),
  ).toEqual([7_000n]);
  expect((await new Ledger(db.pool).balance('investor:wo-ann:available')).posted).toBe(
    100_000n - 10_000n,
  );
  expect(await getRecovery(db.pool, recoveryId)).toMatchObject({
    state: 'RECOVERED',
    recoveredMinor: 3_000n,
  });
});

it('a withdrawal no larger than what is owed clears that much of the recovery and sends nothing', async () => {
  const { auth, recoveryId, bankAccountId } = await investorOwing('wo-ben', '30.00');
  const res = await app.inject({
    method: 'POST',
    url: '/v1/investors/wo-ben/withdrawals',
    headers: { ...auth, 'idempotency-key': 'wd-ben' },
    payload: { amount: '20.00', bankAccountId },
  });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toMatchObject({
    payoutId: null,
    status: 'OFFSET',
    amount: '0.00',
    offset: '20.00',
  });
  expect(
    (
      await db.pool.query(
        "SELECT count(*)::int AS n FROM payouts WHERE party_id = $1 AND purpose <> 'verification'",
        ['wo-ben'],
      )
    ).rows[0].n,
  ).toBe(0);
  expect(await getRecovery(db.pool, recoveryId)).toMatchObject({
    state: 'OFFSETTING',
    recoveredMinor: 2_000n,
  });
  expect((await new Ledger(db.pool).balance('investor:wo-ben:available')).posted).toBe(
    100_000n - 2_000n,
  );
});
