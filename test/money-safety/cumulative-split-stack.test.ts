// Issue 15, item 5, on the whole stack: the loan's own timers start each installment's Repayment
// workflow, the borrower's money is collected through the gateway simulator, split, and paid out
// by payout runs. What each investor gets back is read from what the gateway really executed.
// Split installment by installment (ties to the earliest investor), three investors holding 4.00
// each over three equal-principal installments got 4.02 / 3.99 / 3.99.
import { openAndFillLoan, type LoanPlan } from '../repayments/helpers';
import { useGatewayApp } from '../helpers/gateway-world';
import { drainOutbox } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import { OutboxDispatcher } from '../../worker/outbox-dispatcher';
import { workflowIds } from '../../ids/workflow-ids';

const gatewayApp = useGatewayApp({ poolSize: 20 });
const { world, db } = gatewayApp;

it("three investors holding 4.00 each get back exactly 4.00 of principal through the gateway over the loan's life", async () => {
  const plan: LoanPlan = {
    id: 'csx',
    holdings: [400n, 400n, 400n],
    termMonths: 3,
    repaymentMethod: 'equal_principal',
    intervalSeconds: 2,
    interestFeeRate: '0',
  };
  await openAndFillLoan(gatewayApp.app, db, plan);
  const dispatcher = new OutboxDispatcher(db.pool, world.env.client);
  await drainOutbox(dispatcher, db);
  expect(await world.env.client.workflow.getHandle(workflowIds.loan(plan.id)).result()).toBe(
    'CLOSED',
  );

  const executed = new Set(
    world.simulator
      .truth()
      .filter((o) => o.kind === 'PAYOUT' && o.status === 'SUCCESS')
      .map((o) => o.orderNo),
  );
  const { rows } = await db.pool.query<{
    party_id: string;
    id: string;
    order_no: string;
    amount_minor: string;
  }>(
    `SELECT party_id, id, order_no, amount_minor FROM payouts WHERE loan_id = $1 AND purpose = 'scheduled' ORDER BY party_id, id`,
    [plan.id],
  );
  const paid = (investor: string, part: string) =>
    rows
      .filter(
        (r) => r.party_id === investor && r.id.endsWith(`-${part}`) && executed.has(r.order_no),
      )
      .reduce((a, r) => a + BigInt(r.amount_minor), 0n);
  const investors = [...new Set(rows.map((r) => r.party_id))];
  expect(investors).toHaveLength(3);
  expect(investors.map((i) => paid(i, 'principal'))).toEqual([400n, 400n, 400n]);
  // Interest: equal holdings, so equal shares of what the borrower paid, each within one minor
  // unit.
  const interest = investors.map((i) => paid(i, 'interest'));
  const total = interest.reduce((a, b) => a + b, 0n);
  for (const x of interest) expect(x * 3n - total <= 3n && total - x * 3n <= 3n).toBe(true);
  await drainOutbox(dispatcher, db);
  await expectLedgerConsistent(db.pool);
}, 180_000);
