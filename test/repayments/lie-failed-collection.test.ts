// Violation 3 of docs/reliability.md (chaos seed 15): the gateway executes a collection but answers
// FAILED with a code on the definitive list (`lie-failed:INVALID_ACCOUNT`). Before a new order
// replaces that one, the workflow asks the gateway about it again; when it now says SUCCESS for
// that very order, the installment (or the recovery) is collected by it, once, and no second order
// is ever sent. Real Postgres, a real Temporal dev server, the real gateway simulator.
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';
import { WorkflowUpdateStage } from '@temporalio/client';
import { Ledger } from '../../ledger';
import { inTransaction } from '../../db/pool';
import { offsetFromPayout } from '../../payments/recoveries';
import { resolveException, type AskGateway } from '../../reconciliation/resolve';
import { loadStatement } from '../../reconciliation/statement';
import { repaymentWorkflow } from '../../workflows';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import { reviewEvidenceQuery, type QueryPolicy } from '../../workflows/contracts/gateway-order';
import { requestCollectionUpdate } from '../../workflows/contracts/recovery';
import { ACCOUNT } from '../gateway/helpers';
import { collectNow, recorded } from '../helpers/decisions';
import { drainOutbox, fundInvestor, maybeRecordHistory } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import {
  admin,
  expectLedgerEqualsTruth,
  openRecoveryByHand,
  postNotice,
  until,
  useOutcomeWorld,
  type GatewayCall,
} from '../outcomes/helpers';
import { openAndFillLoan } from './helpers';
import { workflowIds } from '../../ids/workflow-ids';

const world = useOutcomeWorld({ poolSize: 20 });
const { db } = world;
const FAST: QueryPolicy = { attempts: 2, initialIntervalMs: 200, maxIntervalMs: 400 };
const LIE = 'lie-failed:INVALID_ACCOUNT';

afterEach(async () => {
  world.gateway.rule = () => undefined;
  await expectLedgerConsistent(db.pool);
  await expectLedgerEqualsTruth(db.pool, world.simulator);
});

const handle = (workflowId: string) => world.env.client.workflow.getHandle(workflowId);
const balance = (path: string) => new Ledger(db.pool).balance(path);
/** The first submit of this order meets the lie; every other call goes through. */
function lieOnFirstSubmit(orderNo: string): void {
  let lied = false;
  world.gateway.rule = (call: GatewayCall) => {
    if (call.op !== 'submit' || call.orderNo !== orderNo || lied) return undefined;
    lied = true;
    return LIE;
  };
}
const executed = (prefix: string) =>
  world.simulator
    .truth()
    .filter(
      (o) => o.kind === 'COLLECTION' && o.status === 'SUCCESS' && o.orderNo.startsWith(prefix),
    )
    .map((o) => [o.orderNo, String(o.amountMinor)]);
const collectKeys = async (loanId: string) =>
  (
    await db.pool.query<{ k: string }>(
      `SELECT idempotency_key AS k FROM ledger_transactions WHERE idempotency_key LIKE $1 ORDER BY 1`,
      [`repayment:${loanId}:%:collect:%`],
    )
  ).rows.map((r) => r.k);
const attemptsOf = async (workflowId: string) =>
  (await handle(workflowId).query(reviewEvidenceQuery)).attempts.map(
    (a) => `${a.action}:${a.outcome.kind}`,
  );

it('a collection executed but answered FAILED INVALID_ACCOUNT (a lie) is found by the query before attempt 2: collected once, no late fee left', async () => {
  // Due 8 s after funding; a day of this calendar is a second: attempt 1 at the due date, attempt 2
  // a second later.
  const loanId = 'lie1';
  await openAndFillLoan(world.app, db, {
    id: loanId,
    holdings: [400_000n, 600_000n],
    termMonths: 1,
    repaymentMethod: 'equal_installment',
    intervalSeconds: 8,
  });
  lieOnFirstSubmit(`rp-${loanId}-1-1`);
  await drainOutbox(world.dispatcher, db);
  const repayment = handle(workflowIds.repayment(loanId, 1));
  // The lie was believed for a moment: OVERDUE with the late fee, as before.
  await until(
    async () =>
      (
        await db.pool.query(`SELECT status FROM repayment_collections WHERE order_no = $1`, [
          `rp-${loanId}-1-1`,
        ])
      ).rows[0]?.status,
    (s) => s === 'FAILED' || s === 'SUCCEEDED',
    60_000,
  );
  expect(await handle(workflowIds.loan(loanId)).result()).toBe('CLOSED');
  expect(await repayment.result()).toBe('PAID_OUT');

  const due = 1_000_000n + 10_000n; // principal + one month at 12% a year
  // One collection at the gateway: attempt 1's, for the installment without a late fee.
  expect(executed(`rp-${loanId}-`)).toEqual([[`rp-${loanId}-1-1`, String(due)]]);
  const { rows: orders } = await db.pool.query(
    'SELECT attempt, amount_minor::text, status FROM repayment_collections WHERE loan_id = $1 ORDER BY attempt',
    [loanId],
  );
  expect(orders).toEqual([{ attempt: 1, amount_minor: String(due), status: 'SUCCEEDED' }]);
  const {
    rows: [inst],
  } = await db.pool.query(
    'SELECT status, late_fee_minor::text, collected_minor::text FROM loan_installments WHERE loan_id = $1 AND n = 1',
    [loanId],
  );
  expect(inst).toEqual({ status: 'PAID_OUT', late_fee_minor: '0', collected_minor: String(due) });
  // Booked as attempt 1's success would be: its key, its metadata.
  expect(await collectKeys(loanId)).toEqual([`repayment:${loanId}:1:collect:1`]);
  const {
    rows: [collect],
  } = await db.pool.query(`SELECT metadata FROM ledger_transactions WHERE idempotency_key = $1`, [
    `repayment:${loanId}:1:collect:1`,
  ]);
  expect(collect.metadata).toMatchObject({
    orderNo: `rp-${loanId}-1-1`,
    loanId,
    installment: 1,
    verifiedBy: 'gateway',
  });
  const {
    rows: [dist],
  } = await db.pool.query(`SELECT metadata FROM ledger_transactions WHERE idempotency_key = $1`, [
    `repayment:${loanId}:1:distribute`,
  ]);
  expect(dist.metadata).toMatchObject({ lateFeeMinor: '0', platformFeeMinor: '1000' });
  expect((await balance(`loan:${loanId}:repayment`)).posted).toBe(0n);
  // The evidence: the submit's FAILED, then the query's SUCCESS; the audit says what was found.
  expect(await attemptsOf(repayment.workflowId)).toEqual(['submit:failed', 'query:succeeded']);
  const { rows: audit } = await db.pool.query(
    `SELECT actor, details FROM audit_log WHERE action = 'repayment.collection_found' AND subject = $1`,
    [repayment.workflowId],
  );
  expect(audit).toEqual([
    {
      actor: 'system:repayment',
      details: expect.objectContaining({
        orderNo: `rp-${loanId}-1-1`,
        lateFeeWaivedMinor: '10100',
        from: 'gateway:default:clearing',
      }),
    },
  ]);
  await maybeRecordHistory(repayment, 'repaymentWorkflow-collected-by-query');
}, 120_000);

it('the same lie, already adjusted to platform:suspense by reconciliation before the query: the installment is collected from suspense, never again', async () => {
  // Due in an hour; the borrower asks to pay now, so attempt 1 fails before the due date (no late
  // fee).
  const loanId = 'lie2';
  await openAndFillLoan(world.app, db, {
    id: loanId,
    holdings: [1_000_000n],
    termMonths: 1,
    repaymentMethod: 'equal_principal',
    intervalSeconds: 3_600,
  });
  await drainOutbox(world.dispatcher, db);
  await until(
    () =>
      handle(`payout-disb-${loanId}`)
        .result()
        .catch(() => 'NOT_YET'),
    (s) => s === 'SUCCEEDED',
    60_000,
  );
  const orderNo = `rp-${loanId}-1-1`;
  lieOnFirstSubmit(orderNo);
  const workflowId = workflowIds.repayment(loanId, 1);
  const repayment = await world.env.client.workflow.start(repaymentWorkflow, {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [{ loanId, installment: 1, queryPolicy: FAST }],
  });
  await collectNow(db.pool, repayment);
  await until(
    async () =>
      (
        await db.pool.query(`SELECT status FROM repayment_collections WHERE order_no = $1`, [
          orderNo,
        ])
      ).rows[0]?.status,
    (s) => s === 'FAILED',
    30_000,
  );

  // The gateway's signed SUCCESS notice contradicts the FAILED record: an exception, adjusted
  // against suspense.
  const amountMinor = 1_000_000n + 10_000n;
  const notice = await postNotice(world.app, {
    orderNo,
    kind: 'COLLECTION',
    amountMinor,
    status: 'SUCCESS',
  });
  expect(notice.statusCode).toBe(200);
  const {
    rows: [exception],
  } = await until(
    () =>
      db.pool.query(
        `SELECT e.id::text, e.run_id, r.day::text AS day FROM recon_exceptions e JOIN recon_runs r ON r.id = e.run_id WHERE e.order_no = $1`,
        [orderNo],
      ),
    (r) => r.rows.length === 1,
  );
  // The day's statement is fetched (it lists the order), as the reconciliation's first step does.
  await loadStatement(
    db.pool,
    { runId: exception.run_id, channel: 'default', date: exception.day },
    await world.gateway.statement(exception.day),
  );
  const noAnswer: AskGateway = async () => ({ unknown: 'the statement lists it' });
  const suspenseBefore = (await balance('platform:suspense')).posted;
  await resolveException(
    db.pool,
    exception.run_id,
    {
      exceptionId: exception.id,
      action: 'adjust',
      reason: 'the statement shows it',
      operator: 'operator:test',
    },
    noAnswer,
  );
  expect((await balance('platform:suspense')).posted).not.toBe(suspenseBefore);

  // The borrower asks again: the query finds attempt 1 executed; its money is taken back from
  // suspense.
  await collectNow(db.pool, repayment);
  expect(await repayment.result()).toBe('PAID_OUT');
  expect(executed(`rp-${loanId}-`)).toEqual([[orderNo, String(amountMinor)]]);
  expect(await collectKeys(loanId)).toEqual([`repayment:${loanId}:1:collect:1`]);
  const { rows: legs } = await db.pool.query(
    `SELECT a.path, p.direction FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id JOIN ledger_accounts a ON a.id = p.account_id
     WHERE t.idempotency_key = $1 ORDER BY p.direction`,
    [`repayment:${loanId}:1:collect:1`],
  );
  expect(legs).toEqual([
    { path: `loan:${loanId}:repayment`, direction: 'C' },
    { path: 'platform:suspense', direction: 'D' },
  ]);
  expect((await balance('platform:suspense')).posted).toBe(suspenseBefore);
  expect(await attemptsOf(workflowId)).toEqual(['submit:failed', 'query:succeeded']);
  const {
    rows: [inst],
  } = await db.pool.query(
    'SELECT status, late_fee_minor::text FROM loan_installments WHERE loan_id = $1 AND n = 1',
    [loanId],
  );
  expect(inst).toEqual({ status: 'PAID_OUT', late_fee_minor: '0' });
}, 120_000);

it('a recovery collection executed but answered FAILED (a lie) is found before the next request: recovered once, what offsets took meanwhile goes back to the investor', async () => {
  const investorId = 'lie-rc-inv';
  await world.app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': `inv-${investorId}` },
    payload: { id: investorId, name: 'Rita' },
  });
  // where the collection is taken from: a verified account on file
  await putVerifiedAccountOnFile(db.pool, investorId, ACCOUNT);
  await fundInvestor(db, investorId, 5_000n);
  const { recoveryId, workflowId, wf } = await openRecoveryByHand(world, {
    investorId: investorId,
    amount: '30.00',
    reason: 'interest paid twice',
    idempotencyKey: 'lie-rc',
    queryPolicy: FAST,
  });
  const request = async (reason: string) =>
    (
      await wf.startUpdate(requestCollectionUpdate, {
        args: [await recorded(db.pool, workflowId, 'recovery.request_collection', {}, reason)],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      })
    ).result();

  // Attempt 1's order number is made from the recovery id: lie on whatever it is.
  let lied = false;
  world.gateway.rule = (call) =>
    call.op === 'submit' && call.memo?.startsWith('recovery ') && !lied
      ? ((lied = true), LIE)
      : undefined;
  expect(await request('asked by phone')).toBe('OFFSETTING'); // believed: not collected
  const {
    rows: [attempt1],
  } = await db.pool.query<{ order_no: string; amount_minor: string }>(
    `SELECT order_no, amount_minor::text FROM recovery_collections WHERE recovery_id = $1 AND attempt = 1`,
    [recoveryId],
  );
  expect(attempt1.amount_minor).toBe('3000');
  // Meanwhile a payout offsets 10.00 of the 30.00.
  expect(
    await inTransaction(db.pool, (tx) =>
      offsetFromPayout(tx, {
        investorId,
        currency: 'CNY',
        payoutId: 'lie-rc-payout',
        availableMinor: 1_000n,
      }),
    ),
  ).toBe(1_000n);

  expect(await request('asked again')).toBe('RECOVERED');
  expect(await wf.result()).toBe('RECOVERED');
  expect(
    world.simulator
      .truth()
      .filter(
        (o) => o.kind === 'COLLECTION' && o.memo?.startsWith('recovery ') && o.status === 'SUCCESS',
      )
      .map((o) => o.orderNo),
  ).toEqual([attempt1.order_no]);
  expect(
    (
      await db.pool.query(
        `SELECT count(*)::int AS n FROM recovery_collections WHERE recovery_id = $1`,
        [recoveryId],
      )
    ).rows[0].n,
  ).toBe(1);
  const {
    rows: [rec],
  } = await db.pool.query(`SELECT state, recovered_minor::text FROM recoveries WHERE id = $1`, [
    recoveryId,
  ]);
  expect(rec).toEqual({ state: 'RECOVERED', recovered_minor: '3000' });
  // 30.00 came in for 20.00 still owed: the receivable is cleared, the 10.00 returned to the
  // investor's balance.
  expect((await balance('platform:recovery-receivable')).posted).toBe(0n);
  expect((await balance(`investor:${investorId}:available`)).posted).toBe(5_000n);
  expect(await attemptsOf(workflowId)).toEqual(['submit:failed', 'query:succeeded']);
  await maybeRecordHistory(wf, 'recoveryWorkflow-collected-by-query');
}, 120_000);
