// Repayments end to end on a compressed calendar: the Loan workflow starts each installment's
// Repayment at its due date; the borrower's money is collected through the real gateway
// simulator, distributed pro rata in one ledger transaction, and paid out by a payout run. After
// every test the gateway's truth equals the ledger and the trial balance is zero.
import type { FastifyInstance } from 'fastify';
import { Ledger } from '../../ledger';
import { sum } from '../../ledger/money';
import { buildSchedule } from '../../loans/schedule';
import { parseRate } from '../../ledger/money';
import { OutboxDispatcher } from '../../worker/outbox-dispatcher';
import { repaymentWorkflow } from '../../workflows';
import { SCHEDULED_COLLECTION_ATTEMPTS } from '../../workflows/repayment';
import { SearchAttributes, TASK_QUEUE } from '../../workflows/contracts/common';
import { reviewEvidenceQuery } from '../../workflows/contracts/gateway-order';
import type { PayoutRunResult } from '../../workflows/contracts/payout-run';
import { repaymentStateQuery } from '../../workflows/contracts/repayment';
import { useGatewayApp } from '../helpers/gateway-world';
import { drainOutbox, maybeRecordHistory } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import {
  admin,
  expectLedgerEqualsGateway,
  INVESTOR_FUNDS,
  investorId,
  openAndFillLoan,
  until,
  type LoanPlan,
} from './helpers';
import { resolveReview } from '../helpers/decisions';
import { approveHeld, heldApproval } from '../helpers/approvals';

const gatewayApp = useGatewayApp({ poolSize: 20 });
const { world, db } = gatewayApp;
let app: FastifyInstance;
let dispatcher: OutboxDispatcher;

beforeAll(async () => {
  app = gatewayApp.app;
  dispatcher = new OutboxDispatcher(db.pool, world.env.client);
});

afterEach(async () => {
  await world.reset();
  await expectLedgerConsistent(db.pool);
  await expectLedgerEqualsGateway(db.pool, world.simulator);
});

/** The result of a workflow that some other workflow starts in a moment. */
async function resultOf(workflowId: string): Promise<unknown> {
  const handle = world.env.client.workflow.getHandle(workflowId);
  await until(
    () =>
      handle.describe().then(
        () => true,
        () => false,
      ),
    (exists) => exists,
    30_000,
  );
  return handle.result();
}
const balance = (path: string) => new Ledger(db.pool).balance(path);
const installments = async (loanId: string) =>
  (
    await db.pool.query(
      'SELECT n, status, late_fee_minor::text, collected_minor::text FROM loan_installments WHERE loan_id = $1 ORDER BY n',
      [loanId],
    )
  ).rows;

it('runs a loan from funding to CLOSED: every installment collected, split exactly by holding less the fee, paid out once', async () => {
  const plan: LoanPlan = {
    id: 'lc1',
    holdings: [100_000n, 200_000n, 333_333n, 366_667n],
    termMonths: 3,
    repaymentMethod: 'interest_then_principal',
    intervalSeconds: 3,
    interestFeeRate: '0.1',
    noBankAccount: [3],
  };
  await openAndFillLoan(app, db, plan);
  await drainOutbox(dispatcher, db);
  const loan = world.env.client.workflow.getHandle('loan-lc1');
  expect(await loan.result()).toBe('CLOSED');

  const schedule = buildSchedule(1_000_000n, parseRate('0.12'), 3, 'interest_then_principal');
  expect((await installments('lc1')).map((i) => i.status)).toEqual([
    'PAID_OUT',
    'PAID_OUT',
    'PAID_OUT',
  ]);
  const { rows: shares } = await db.pool.query(
    'SELECT n, investor_id, interest_minor, principal_minor FROM repayment_shares WHERE loan_id = $1 ORDER BY n, investor_id',
    ['lc1'],
  );
  let cumulativeInterest = 0n;
  for (const inst of schedule) {
    const fee = (inst.interestMinor + 5n) / 10n; // 10% of the interest, half up
    cumulativeInterest += inst.interestMinor - fee;
    const mine = shares.filter((s) => s.n === inst.n);
    // parts sum exactly to the whole
    expect(sum(mine.map((s) => BigInt(s.interest_minor)))).toBe(inst.interestMinor - fee);
    expect(sum(mine.map((s) => BigInt(s.principal_minor)))).toBe(inst.principalMinor);
    // Pro rata, cumulatively: what each investor got so far is within one minor unit of their exact
    // share of it.
    plan.holdings.forEach((holding, i) => {
      const got = sum(
        shares
          .filter((s) => s.n <= inst.n && s.investor_id === investorId(plan, i))
          .map((s) => BigInt(s.interest_minor)),
      );
      const error = got * 1_000_000n - cumulativeInterest * holding;
      expect(error < 0n ? -error : error).toBeLessThan(1_000_000n);
    });
  }
  expect((await balance('loan:lc1:repayment')).posted).toBe(0n);
  // Investors with a bank account got everything paid out; the one without keeps it in the balance.
  const totalInterest = sum(schedule.map((i) => i.interestMinor));
  for (let i = 0; i < 3; i++)
    expect((await balance(`investor:${investorId(plan, i)}:available`)).posted).toBe(
      INVESTOR_FUNDS - plan.holdings[i],
    );
  const kept = shares
    .filter((s) => s.investor_id === investorId(plan, 3))
    .reduce((a, s) => a + BigInt(s.interest_minor) + BigInt(s.principal_minor), 0n);
  expect((await balance(`investor:${investorId(plan, 3)}:available`)).posted).toBe(
    INVESTOR_FUNDS - plan.holdings[3] + kept,
  );
  const payouts = world.simulator
    .truth()
    .filter((o) => o.kind === 'PAYOUT' && o.status === 'SUCCESS' && o.orderNo.startsWith('lc1-'));
  // interest each month to 3 investors, principal once to 3
  expect(payouts).toHaveLength(3 * 3 + 3);
  expect(totalInterest).toBeGreaterThan(0n);

  const run: PayoutRunResult = await world.env.client.workflow
    .getHandle('payout-run-lc1-3')
    .result();
  expect(run).toMatchObject({ payouts: 6, succeeded: 6, failed: 0, manualReview: 0, skipped: 2 });
  await maybeRecordHistory(loan, 'loanWorkflow-closed');
  await maybeRecordHistory(
    world.env.client.workflow.getHandle('repayment-lc1-3'),
    'repaymentWorkflow-paid-out',
  );
  await maybeRecordHistory(
    world.env.client.workflow.getHandle('payout-run-lc1-3'),
    'payoutRunWorkflow-done',
  );
}, 90_000);

it('an installment the borrower cannot pay goes OVERDUE with the late fee, and is collected with it a day later', async () => {
  const plan: LoanPlan = {
    id: 'od1',
    holdings: [300_000n, 700_000n],
    termMonths: 1,
    repaymentMethod: 'equal_installment',
    intervalSeconds: 8,
  };
  await openAndFillLoan(app, db, plan);
  await drainOutbox(dispatcher, db);
  // The disbursement is paid out first; then the borrower's bank refuses the collection.
  expect(await resultOf('payout-disb-od1')).toBe('SUCCEEDED');
  world.fault('fail:INSUFFICIENT_FUNDS');
  const repayment = world.env.client.workflow.getHandle('repayment-od1-1');
  await until(
    () => repayment.query(repaymentStateQuery).catch(() => 'NOT_STARTED'),
    (s) => s === 'OVERDUE',
    30_000,
  );
  await world.reset();
  expect(await world.env.client.workflow.getHandle('loan-od1').result()).toBe('CLOSED');

  const [inst] = await installments('od1');
  const due = 1_000_000n + 10_000n; // principal + one month at 12% a year
  const fee = 10_100n; // 1% of the 10,100.00 installment
  expect(inst).toMatchObject({
    status: 'PAID_OUT',
    late_fee_minor: String(fee),
    collected_minor: String(due + fee),
  });
  const { rows: orders } = await db.pool.query(
    'SELECT attempt, amount_minor::text, status FROM repayment_collections WHERE loan_id = $1 ORDER BY attempt',
    ['od1'],
  );
  expect(orders).toEqual([
    { attempt: 1, amount_minor: String(due), status: 'FAILED' },
    { attempt: 2, amount_minor: String(due + fee), status: 'SUCCEEDED' },
  ]);
  // The late fee went to the platform with its 10% cut of the interest; the investors got the rest.
  const { rows } = await db.pool.query(
    `SELECT metadata FROM ledger_transactions WHERE idempotency_key = 'repayment:od1:1:distribute'`,
  );
  expect(rows[0].metadata).toMatchObject({
    lateFeeMinor: String(fee),
    platformFeeMinor: '1000',
    investors: 2,
  });
  const { rows: shares } = await db.pool.query(
    `SELECT sum(interest_minor + principal_minor)::text AS total FROM repayment_shares WHERE loan_id = 'od1'`,
  );
  expect(shares[0].total).toBe(String(due - 1_000n));
}, 90_000);

it("an installment whose scheduled collections all failed waits findable as CollectionState 'Exhausted', and is collected when asked", async () => {
  // Chaos seed 201: after the last scheduled attempt the repayment waited in no state an operator
  // could find (and its loan with it).
  const plan: LoanPlan = {
    id: 'ex1',
    holdings: [500_000n, 500_000n],
    termMonths: 1,
    repaymentMethod: 'equal_installment',
    intervalSeconds: 8,
  };
  await openAndFillLoan(app, db, plan);
  await drainOutbox(dispatcher, db);
  expect(await resultOf('payout-disb-ex1')).toBe('SUCCEEDED');
  world.fault('fail:INSUFFICIENT_FUNDS');
  const repayment = world.env.client.workflow.getHandle('repayment-ex1-1');
  const collectionState = async () =>
    (await repayment.describe().catch(() => undefined))?.typedSearchAttributes.get(
      SearchAttributes.CollectionState,
    );
  // five failed attempts a compressed day apart, through the outcome table: slow when loaded
  await until(collectionState, (s) => s === 'Exhausted', 150_000);
  const { rows: attempts } = await db.pool.query(
    `SELECT count(*)::int AS n FROM repayment_collections WHERE loan_id = 'ex1' AND status = 'FAILED'`,
  );
  expect(attempts[0].n).toBe(SCHEDULED_COLLECTION_ATTEMPTS);
  expect(await repayment.query(repaymentStateQuery)).toBe('OVERDUE');

  await world.reset();
  const borrower = {
    authorization: `Bearer ${(await app.inject({ method: 'POST', url: '/v1/api-keys', headers: admin, payload: { role: 'borrower:ex1-bor' } })).json().key}`,
  };
  const asked = await app.inject({
    method: 'POST',
    url: '/v1/loans/ex1/installments/1/repayments',
    headers: borrower,
  });
  expect(asked.statusCode).toBe(202);
  expect(await repayment.result()).toBe('PAID_OUT');
  expect(await world.env.client.workflow.getHandle('loan-ex1').result()).toBe('CLOSED');
}, 240_000);

it("a collection the gateway answered with a listed failure but executed is the installment's collection: asked again before a new order, the borrower pays once", async () => {
  // Chaos seed 26 (docs/reliability.md, violation 2): lie-failed:INVALID_ACCOUNT on a collection,
  // then the next attempt's new order debited the borrower a second time.
  const plan: LoanPlan = {
    id: 'lf1',
    holdings: [400_000n, 600_000n],
    termMonths: 1,
    repaymentMethod: 'equal_installment',
    intervalSeconds: 3_600,
  };
  await openAndFillLoan(app, db, plan);
  await drainOutbox(dispatcher, db);
  expect(await resultOf('payout-disb-lf1')).toBe('SUCCEEDED');
  const borrower = {
    authorization: `Bearer ${(await app.inject({ method: 'POST', url: '/v1/api-keys', headers: admin, payload: { role: 'borrower:lf1-bor' } })).json().key}`,
  };
  const collections = async () =>
    (
      await db.pool.query(
        'SELECT attempt, status FROM repayment_collections WHERE loan_id = $1 ORDER BY attempt',
        ['lf1'],
      )
    ).rows;

  // The borrower repays early: the gateway debits the account but answers INVALID_ACCOUNT, a listed
  // failure.
  world.fault('lie-failed:INVALID_ACCOUNT');
  expect(
    (
      await app.inject({
        method: 'POST',
        url: '/v1/loans/lf1/installments/1/repayments',
        headers: borrower,
      })
    ).statusCode,
  ).toBe(202);
  await until(collections, (rows) => rows.length === 1 && rows[0].status === 'FAILED', 30_000);
  const repayment = world.env.client.workflow.getHandle('repayment-lf1-1');
  // not past its due date: no late fee
  expect(await repayment.query(repaymentStateQuery)).toBe('DUE');
  await world.reset();

  // Asked to collect again: the gateway, asked about the first order, says it executed. No second
  // order.
  expect(
    (
      await app.inject({
        method: 'POST',
        url: '/v1/loans/lf1/installments/1/repayments',
        headers: borrower,
      })
    ).statusCode,
  ).toBe(202);
  expect(await repayment.result()).toBe('PAID_OUT');
  expect(await collections()).toEqual([{ attempt: 1, status: 'SUCCEEDED' }]);
  const executed = world.simulator
    .truth()
    .filter(
      (o) => o.kind === 'COLLECTION' && o.status === 'SUCCESS' && o.orderNo.startsWith('rp-lf1-'),
    );
  expect(executed.map((o) => o.orderNo)).toEqual(['rp-lf1-1-1']);
  const [inst] = await installments('lf1');
  expect(inst).toMatchObject({
    status: 'PAID_OUT',
    late_fee_minor: '0',
    collected_minor: String(1_000_000n + 10_000n),
  });
  const { rows: audit } = await db.pool.query(
    `SELECT actor, details FROM audit_log WHERE action = 'repayment.collection_found' AND subject = 'repayment-lf1-1'`,
  );
  expect(audit).toEqual([
    {
      actor: 'system:repayment',
      details: expect.objectContaining({
        orderNo: 'rp-lf1-1-1',
        attempt: 1,
        from: expect.any(String),
      }),
    },
  ]);
  const {
    rows: [collected],
  } = await db.pool.query(
    `SELECT metadata FROM ledger_transactions WHERE idempotency_key = 'repayment:lf1:1:collect:1'`,
  );
  expect(collected.metadata).toMatchObject({ orderNo: 'rp-lf1-1-1', verifiedBy: 'gateway' });
}, 120_000);

it('a collection whose outcome stays unknown waits in MANUAL_REVIEW until an operator decides, through the API', async () => {
  const plan: LoanPlan = {
    id: 'mr1',
    holdings: [500_000n, 500_000n],
    termMonths: 1,
    repaymentMethod: 'equal_principal',
    intervalSeconds: 3_600,
  };
  await openAndFillLoan(app, db, plan);
  await drainOutbox(dispatcher, db);
  expect(await resultOf('payout-disb-mr1')).toBe('SUCCEEDED');

  // The borrower repays early through the API; the gateway executes it but answers 5xx, then goes
  // down.
  world.fault('error-5xx-after-execute');
  const borrowerKey = (
    await app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: admin,
      payload: { role: 'borrower:mr1-bor' },
    })
  ).json().key;
  const borrower = { authorization: `Bearer ${borrowerKey}` };
  // Started here first with a short query policy; the API's request then tells it to collect now.
  await world.env.client.workflow.start(repaymentWorkflow, {
    workflowId: 'repayment-mr1-1',
    taskQueue: TASK_QUEUE,
    args: [
      {
        loanId: 'mr1',
        installment: 1,
        queryPolicy: { attempts: 2, initialIntervalMs: 500, maxIntervalMs: 500 },
      },
    ],
  });
  expect(
    await world.env.client.workflow.getHandle('repayment-mr1-1').query(repaymentStateQuery),
  ).toBe('DUE'); // its due date is an hour away
  const collectNow = () =>
    app.inject({
      method: 'POST',
      url: '/v1/loans/mr1/installments/1/repayments',
      headers: { ...borrower, 'idempotency-key': 'collect-mr1-1' },
    });
  const started = await collectNow();
  expect(started.json()).toMatchObject({ workflowId: 'repayment-mr1-1' });
  expect(started.statusCode).toBe(202);
  expect(started.json().workflowId).toBe('repayment-mr1-1');
  // A retry under its key (the answer lost) replays the first answer: one decision, not two.
  const startedAgain = await collectNow();
  expect({
    status: startedAgain.statusCode,
    body: startedAgain.json(),
    replayed: startedAgain.headers['idempotency-replayed'],
  }).toEqual({ status: 202, body: started.json(), replayed: 'true' });
  expect(await decisionsOf('repayment-mr1-1', 'repayment.collect_now')).toBe(1);
  await app.inject({
    method: 'POST',
    url: '/v1/borrowers',
    headers: { ...admin, 'idempotency-key': 'other-borrower' },
    payload: { id: 'mr1-other', name: 'Another borrower' },
  });
  const stranger = {
    authorization: `Bearer ${(await app.inject({ method: 'POST', url: '/v1/api-keys', headers: admin, payload: { role: 'borrower:mr1-other' } })).json().key}`,
  };
  expect(
    (
      await app.inject({
        method: 'POST',
        url: '/v1/loans/mr1/installments/1/repayments',
        headers: stranger,
      })
    ).statusCode,
  ).toBe(404);
  expect(
    (
      await app.inject({
        method: 'POST',
        url: '/v1/loans/mr1/installments/2/repayments',
        headers: borrower,
      })
    ).statusCode,
  ).toBe(404);

  const repayment = world.env.client.workflow.getHandle('repayment-mr1-1');
  await until(
    () => repayment.query(reviewEvidenceQuery).catch(() => ({ attempts: [] })),
    (e) => e.attempts.length >= 1,
    30_000,
  );
  await world.simulator.startOutage('503');
  await until(
    () => repayment.query(repaymentStateQuery),
    (s) => s === 'MANUAL_REVIEW',
    60_000,
  );
  const notYet = await app.inject({
    method: 'POST',
    url: '/v1/payout-runs',
    headers: { authorization: `Bearer ${await operatorKey()}` },
    payload: { loanId: 'mr1', installment: 1 },
  });
  expect(notYet.statusCode).toBe(409);
  expect(notYet.json().error.code).toBe('NOT_DISTRIBUTED');

  await world.reset();
  const operator = { authorization: `Bearer ${await operatorKey()}` };
  const resolve = (decision = 'paid') =>
    app.inject({
      method: 'POST',
      url: '/v1/reviews/repayment-mr1-1/resolve',
      headers: { ...operator, 'idempotency-key': 'resolve-mr1-1' },
      payload: { decision, reason: 'bank statement shows the debit' },
    });
  const resolved = await resolve();
  expect(resolved.statusCode).toBe(200);
  const resolvedAgain = await resolve();
  expect({
    status: resolvedAgain.statusCode,
    body: resolvedAgain.json(),
    replayed: resolvedAgain.headers['idempotency-replayed'],
  }).toEqual({ status: 200, body: resolved.json(), replayed: 'true' });
  const reused = await resolve('not_paid');
  expect({ status: reused.statusCode, code: reused.json().error.code }).toEqual({
    status: 422,
    code: 'IDEMPOTENCY_KEY_REUSED',
  });
  expect(await decisionsOf('repayment-mr1-1', 'review.resolve')).toBe(1);
  await expect(
    resolveReview(db.pool, repayment, { decision: 'not_paid', reason: 'again' }),
  ).rejects.toThrow();
  expect(await repayment.result()).toBe('PAID_OUT');
  const { rows } = await db.pool.query(
    `SELECT metadata FROM ledger_transactions WHERE idempotency_key = 'repayment:mr1:1:collect:1'`,
  );
  expect(rows[0].metadata).toMatchObject({
    decision: 'paid',
    reason: 'bank statement shows the debit',
  });
  expect(rows[0].metadata.decidedBy).toMatch(/^operator:/);
  // A repeated run request, started by hand, waits for a second operator; approved, it returns
  // the same run, never a second.
  const startRun = (installment = 1) =>
    app.inject({
      method: 'POST',
      url: '/v1/payout-runs',
      headers: { ...operator, 'idempotency-key': 'run-mr1-1' },
      payload: { loanId: 'mr1', installment },
    });
  const again = await startRun();
  expect(heldApproval(again)).toMatchObject({
    action: 'payout_run.start',
    workflowId: 'payout-run-mr1-1',
  });
  const runAgain = await startRun();
  expect({
    status: runAgain.statusCode,
    body: runAgain.json(),
    replayed: runAgain.headers['idempotency-replayed'],
  }).toEqual({ status: 202, body: again.json(), replayed: 'true' });
  expect((await startRun(2)).statusCode).toBe(422);
  const { rows: held } = await db.pool.query(
    `SELECT 1 FROM approvals WHERE workflow_id = 'payout-run-mr1-1'`,
  );
  expect(held).toHaveLength(1);
  expect(await approveHeld(app, again)).toMatchObject({ workflowId: 'payout-run-mr1-1' });
  await drainOutbox(dispatcher, db);
  const runs = [];
  for await (const w of world.env.client.workflow.list({
    query: `WorkflowId = 'payout-run-mr1-1'`,
  }))
    runs.push(w.runId);
  expect(runs).toHaveLength(1);
  await maybeRecordHistory(repayment, 'repaymentWorkflow-manual-review');
}, 120_000);

async function decisionsOf(workflowId: string, kind: string): Promise<number> {
  const { rows } = await db.pool.query(
    'SELECT 1 FROM operator_decisions WHERE workflow_id = $1 AND kind = $2',
    [workflowId, kind],
  );
  return rows.length;
}

async function operatorKey(): Promise<string> {
  return (
    await app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: admin,
      payload: { role: 'operator' },
    })
  ).json().key;
}
