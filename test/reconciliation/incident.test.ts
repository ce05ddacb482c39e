// The historical incident, end to end: a payout the gateway executed but answered "failed" (with
// a code on the list, so the platform believed it) is paid again. The next day's reconciliation
// finds the first order executed though we voided it; the operator opens a recovery; the
// investor's next interest payout offsets it; the recovery closes RECOVERED. The trial balance is
// zero and, order by order, the ledger moved exactly what the gateway moved.
import type { FastifyInstance } from 'fastify';
import { Ledger } from '../../ledger';
import { SearchAttributes } from '../../workflows/contracts/common';
import { recoveryStateQuery } from '../../workflows/contracts/recovery';
import { useGatewayApp } from '../helpers/gateway-world';
import { drainOutbox, maybeRecordHistory } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import { OutboxDispatcher } from '../../worker/outbox-dispatcher';
import {
  admin,
  INVESTOR_FUNDS,
  investorId,
  openAndFillLoan,
  until,
  type LoanPlan,
} from '../repayments/helpers';
import { payOut, reconcile, today } from './helpers';
import { operatorHeaders } from '../api/helpers';
import { approveHeld } from '../helpers/approvals';
import { workflowIds } from '../../ids/workflow-ids';

const gatewayApp = useGatewayApp({ poolSize: 20 });
const { world, db } = gatewayApp;
let app: FastifyInstance;
beforeAll(() => {
  app = gatewayApp.app;
});

/**
 * For every order the gateway executed: what it moved, against what the ledger moved through the
 * clearing account.
 */
async function ledgerAgainstGateway(): Promise<
  { orderNo: string; gateway: string; ledger: string }[]
> {
  const executed = world.simulator.truth().filter((o) => o.status === 'SUCCESS');
  const { rows } = await db.pool.query<{ order_no: string; net: string }>(
    `SELECT t.metadata->>'orderNo' AS order_no, sum(CASE p.direction WHEN 'C' THEN p.amount ELSE -p.amount END)::text AS net
     FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id AND NOT p.pending
     JOIN ledger_accounts a ON a.id = p.account_id AND a.path = 'gateway:default:clearing'
     WHERE t.metadata ? 'orderNo' GROUP BY 1`,
  );
  const ours = new Map(rows.map((r) => [r.order_no, BigInt(r.net)]));
  return executed.map((o) => ({
    orderNo: o.orderNo,
    gateway: String(o.kind === 'PAYOUT' ? o.amountMinor : -o.amountMinor),
    ledger: String(ours.get(o.orderNo) ?? 0n),
  }));
}

it('re-enacts the double payout: caught the next day, recovered from the next interest payout', async () => {
  const plan: LoanPlan = {
    id: 'inc1',
    holdings: [1_000_000n],
    termMonths: 2,
    repaymentMethod: 'interest_then_principal',
    intervalSeconds: 3_600,
  };
  await openAndFillLoan(app, db, plan);
  await drainOutbox(new OutboxDispatcher(db.pool, world.env.client), db);
  const vic = investorId(plan, 0);
  await until(
    async () => (await db.pool.query(`SELECT status FROM loans WHERE id = 'inc1'`)).rows[0].status,
    (s) => s === 'REPAYING',
    30_000,
  );
  await until(
    async () =>
      (await db.pool.query(`SELECT status FROM payouts WHERE id = 'disb-inc1'`)).rows[0]?.status,
    (s) => s === 'SUCCEEDED',
    30_000,
  );

  // The incident: the gateway pays 50.00 but answers INVALID_ACCOUNT; the platform voids it and
  // pays again.
  world.fault('lie-failed:INVALID_ACCOUNT');
  expect(await payOut(world, db.pool, 'wd-first', vic, 5_000n)).toBe('FAILED');
  await world.reset();
  expect(await payOut(world, db.pool, 'wd-again', vic, 5_000n)).toBe('SUCCEEDED');
  const paid = world.simulator
    .truth()
    .filter((o) => o.kind === 'PAYOUT' && o.status === 'SUCCESS' && o.orderNo.startsWith('wd-'));
  // paid twice at the gateway
  expect(paid.map((o) => o.orderNo).sort()).toEqual(['wd-again', 'wd-first']);

  // The next day's reconciliation (here: today's statement) finds it; the operator opens a
  // recovery.
  const operator = await operatorHeaders(app);
  const day = await reconcile(app, operator, today());
  expect(day.exceptions.map((e) => [e.class, e.orderNo, e.partyId])).toEqual([
    ['STATUS_MISMATCH', 'wd-first', vic],
  ]);
  // A recover opens a recovery by hand: a second operator approves it.
  const resolved = await approveHeld(
    app,
    await app.inject({
      method: 'POST',
      url: `/v1/reconciliations/default/${today()}/exceptions/${day.exceptions[0].id}/resolve`,
      headers: operator,
      payload: {
        action: 'recover',
        reason: 'executed at the bank although answered INVALID_ACCOUNT; paid again by wd-again',
      },
    }),
  );
  expect(resolved).toMatchObject({ status: 'RESOLVED' });
  const {
    rows: [exception],
  } = await db.pool.query(`SELECT recovery_id FROM recon_exceptions WHERE order_no = 'wd-first'`);
  const recoveryId: string = exception.recovery_id;
  const investorKey = (
    await app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: admin,
      payload: { role: `investor:${vic}` },
    })
  ).json().key;
  const seen = await app.inject({
    method: 'GET',
    url: '/v1/recoveries',
    headers: { authorization: `Bearer ${investorKey}` },
  });
  expect(seen.json()).toEqual([
    expect.objectContaining({
      id: recoveryId,
      state: 'OFFSETTING',
      owed: '50.00',
      outstanding: '50.00',
    }),
  ]);
  await drainOutbox(new OutboxDispatcher(db.pool, world.env.client), db); // starts recovery-{id}
  const recovery = world.env.client.workflow.getHandle(workflowIds.recovery(recoveryId));
  await until(
    () => recovery.query(recoveryStateQuery).catch(() => 'NOT_STARTED'),
    (s) => s === 'OFFSETTING',
    30_000,
  );
  expect(
    (await recovery.describe()).typedSearchAttributes.get(SearchAttributes.RecoveryState),
  ).toBe('Offsetting');

  // The borrower pays the first month's interest (100.00, less the 10% platform fee): Vic's 90.00
  // interest payout is reduced by the 50.00 owed.
  const borrowerKey = (
    await app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: admin,
      payload: { role: 'borrower:inc1-bor' },
    })
  ).json().key;
  expect(
    (
      await app.inject({
        method: 'POST',
        url: '/v1/loans/inc1/installments/1/repayments',
        headers: { authorization: `Bearer ${borrowerKey}` },
      })
    ).statusCode,
  ).toBe(202);
  expect(await world.env.client.workflow.getHandle('repayment-inc1-1').result()).toBe('PAID_OUT');
  const interest = world.simulator.truth().find((o) => o.orderNo === `inc1-1-${vic}-interest`);
  expect(interest?.amountMinor).toBe(4_000n); // 90.00 - 50.00
  // the recoveryClosed signal
  await drainOutbox(new OutboxDispatcher(db.pool, world.env.client), db);
  expect(await recovery.result()).toBe('RECOVERED');
  const closed = await app.inject({
    method: 'GET',
    url: `/v1/recoveries/${recoveryId}`,
    headers: operator,
  });
  expect(closed.json()).toMatchObject({
    state: 'RECOVERED',
    recovered: '50.00',
    outstanding: '0.00',
  });
  const writeOff = await app.inject({
    method: 'POST',
    url: `/v1/recoveries/${recoveryId}/write-off`,
    headers: operator,
    payload: { reason: 'too late' },
  });
  expect(writeOff.statusCode).toBe(409);

  // Every cent: the trial balance is zero, nothing owed is left, and each executed order moved the
  // same money in the ledger as at the gateway.
  await expectLedgerConsistent(db.pool);
  expect((await new Ledger(db.pool).balance('platform:recovery-receivable')).posted).toBe(0n);
  // funds - holding - the second withdrawal + the interest - the offset - the interest paid out
  expect((await new Ledger(db.pool).balance(`investor:${vic}:available`)).posted).toBe(
    INVESTOR_FUNDS - 1_000_000n - 5_000n + 9_000n - 5_000n - 4_000n,
  );
  for (const o of await ledgerAgainstGateway()) expect(o.ledger).toBe(o.gateway);
  await maybeRecordHistory(recovery, 'recoveryWorkflow-recovered');
}, 120_000);
