// Issue 19 item 3, the incident's stop-loss: payouts paused in the middle of a payout run. From the
// pause on, no new order of the run reaches the gateway and the rest wait as GatewayPause =
// "Paused"; resumed, the run finishes and every investor is paid each part exactly once.
import { expectLedgerConsistent } from '../ledger/helpers';
import { drainOutbox } from '../helpers/stack';
import {
  expectLedgerEqualsGateway,
  openAndFillLoan,
  until,
  type LoanPlan,
} from '../repayments/helpers';
import { operatorHeaders, useOutcomeWorld } from '../outcomes/helpers';

const world = useOutcomeWorld({ poolSize: 20 });
const { db } = world;

const plan: LoanPlan = {
  id: 'pz1',
  holdings: Array.from({ length: 40 }, () => 25_000n),
  termMonths: 1,
  repaymentMethod: 'interest_then_principal',
  intervalSeconds: 4,
};

/** The run's payouts (not the disbursement): order number and status. */
const runPayouts = async () =>
  (
    await db.pool.query<{ order_no: string; status: string; party_id: string }>(
      `SELECT order_no, status, party_id FROM payouts WHERE loan_id = $1 AND purpose <> 'disbursement'`,
      [plan.id],
    )
  ).rows;
const submitsOfRun = async () => {
  const orders = new Set((await runPayouts()).map((p) => p.order_no));
  return world.gateway.calls.filter((c) => c.op === 'submit' && orders.has(c.orderNo));
};
const paid = async () => (await runPayouts()).filter((p) => p.status === 'SUCCEEDED').length;

it('pauses payouts in the middle of a payout run: no new order is sent while paused, and once resumed every investor is paid once', async () => {
  await openAndFillLoan(world.app, db, plan);
  await drainOutbox(world.dispatcher, db);
  const operator = await operatorHeaders(world.app);
  const control = (verb: 'pause' | 'resume') =>
    world.app.inject({
      method: 'POST',
      url: `/v1/controls/${verb}`,
      headers: operator,
      payload: { scope: 'payouts', channel: 'default', reason: 'two runs overlap' },
    });

  await until(paid, (n) => n >= 10, 90_000);
  expect((await control('pause')).statusCode).toBe(200);
  // A submit that passed its check just before the pause committed is in flight; after that,
  // nothing more.
  await new Promise((r) => setTimeout(r, 500));
  const sentAtPause = (await submitsOfRun()).length;
  await until(
    async () => {
      const waiting = [];
      for await (const w of world.env.client.workflow.list({
        query: `GatewayPause = 'Paused' AND ExecutionStatus = 'Running'`,
      }))
        waiting.push(w.workflowId);
      return waiting.length;
    },
    (n) => n > 0,
    30_000,
  );
  await new Promise((r) => setTimeout(r, 3_000));
  expect((await submitsOfRun()).length).toBe(sentAtPause);
  const partsDue = plan.holdings.length * 2; // interest and principal each
  expect(sentAtPause).toBeLessThan(partsDue);

  expect((await control('resume')).statusCode).toBe(200);
  await until(
    async () =>
      (await db.pool.query(`SELECT status FROM loan_installments WHERE loan_id = $1`, [plan.id]))
        .rows[0].status as string,
    (s) => s === 'PAID_OUT',
    120_000,
  );
  const payouts = await runPayouts();
  expect(payouts).toHaveLength(partsDue);
  expect(payouts.every((p) => p.status === 'SUCCEEDED')).toBe(true);
  // each part is one order, executed once at the gateway (an order sent again under its own
  // number, as the outcome table allows for one not sent, is still one)
  const submits = await submitsOfRun();
  expect(new Set(submits.map((c) => c.orderNo)).size).toBe(partsDue);
  const orders = new Set(payouts.map((p) => p.order_no));
  const executed = world.simulator
    .truth()
    .filter((o) => o.kind === 'PAYOUT' && o.status === 'SUCCESS' && orders.has(o.orderNo));
  expect(executed).toHaveLength(partsDue);
  expect(new Set(executed.map((o) => o.orderNo)).size).toBe(partsDue);
  const perInvestor = new Map<string, number>();
  for (const p of payouts) perInvestor.set(p.party_id, (perInvestor.get(p.party_id) ?? 0) + 1);
  expect([...perInvestor.values()].every((n) => n === 2)).toBe(true);
  expect(perInvestor.size).toBe(plan.holdings.length);
  await expectLedgerEqualsGateway(db.pool, world.simulator);
  await expectLedgerConsistent(db.pool);
}, 240_000);
