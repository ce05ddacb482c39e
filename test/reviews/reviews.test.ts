// Manual reviews as an operator meets them (GET /v1/reviews, the CLI, POST .../resolve), with the
// worst orderings: a verified notice arriving while the operator decides; payouts whose order
// number is not their id (64-character loan and investor ids); recovery collections.
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';
import { WorkflowUpdateStage } from '@temporalio/client';
import { Ledger } from '../../ledger';
import { getPayout } from '../../payments/payouts';
import { repaymentWorkflow } from '../../workflows';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import {
  reviewEvidenceQuery,
  type QueryPolicy,
  type ReviewEvidence,
} from '../../workflows/contracts/gateway-order';
import { requestCollectionUpdate } from '../../workflows/contracts/recovery';
import { ACCOUNT } from '../gateway/helpers';
import { drainOutbox, maybeRecordHistory } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import { openAndFillLoan, type LoanPlan } from '../repayments/helpers';
import {
  admin,
  expectLedgerEqualsTruth,
  openRecoveryByHand,
  operatorHeaders,
  ops,
  postNotice,
  until,
  untilReview,
  useOutcomeWorld,
  executedButUnknown,
  withdrawalInReview,
} from '../outcomes/helpers';
import { collectNow, recorded } from '../helpers/decisions';
import { workflowIds } from '../../ids/workflow-ids';

const world = useOutcomeWorld({ poolSize: 20 });
const { db } = world;
const FAST: QueryPolicy = { attempts: 2, initialIntervalMs: 200, maxIntervalMs: 400 };

afterEach(async () => {
  world.gateway.rule = () => undefined;
  await expectLedgerConsistent(db.pool);
  await expectLedgerEqualsTruth(db.pool, world.simulator);
});

const handle = (workflowId: string) => world.env.client.workflow.getHandle(workflowId);
interface ListedReview {
  workflowId: string;
  kind: string;
  evidence: ReviewEvidence;
}
async function listed(
  workflowId: string,
  check: (r: ListedReview) => boolean = () => true,
): Promise<ListedReview> {
  const operator = await operatorHeaders(world.app);
  const list = await until(
    async () =>
      (await world.app.inject({ method: 'GET', url: '/v1/reviews', headers: operator })).json<
        ListedReview[]
      >(),
    (l) => l.some((r) => r.workflowId === workflowId && check(r)),
    30_000,
  );
  return list.find((r) => r.workflowId === workflowId) as ListedReview;
}

it('payout: a verified notice arriving while in MANUAL_REVIEW is evidence (query, GET /v1/reviews, CLI), refuses not_paid, and settles it paid once', async () => {
  const id = 'nv-payout-1';
  const { wf, evidence } = await withdrawalInReview(
    world,
    { id: 'nina', name: 'Nina', key: 'nv-1' },
    id,
    9_900n,
  );

  // The operator is about to decide when the gateway's signed SUCCESS arrives. The posting it
  // leads to is held up (its row locked) so the review is still open while we look at it.
  const lock = await db.pool.connect();
  try {
    await lock.query('BEGIN');
    await lock.query('SELECT 1 FROM payouts WHERE id = $1 FOR UPDATE', [id]);
    const notice = await postNotice(world.app, {
      orderNo: evidence.orderNo,
      kind: 'PAYOUT',
      amountMinor: 9_900n,
      status: 'SUCCESS',
    });
    expect(notice.statusCode).toBe(200);
    const open = await until(
      () => wf.query(reviewEvidenceQuery),
      (e) => e.attempts.at(-1)?.action === 'notice',
    );
    expect(open.state).toBe('MANUAL_REVIEW');
    expect(open.notices).toEqual([
      { notifyId: notice.notifyId, orderNo: evidence.orderNo, outcome: 'succeeded' },
    ]);
    const review = await listed(wf.workflowId, (r) => (r.evidence.notices ?? []).length > 0);
    expect(review.evidence.notices).toEqual(open.notices);
    const shown = await ops(world.apiUrl, 'reviews', 'show', wf.workflowId);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`verified notice ${notice.notifyId}  succeeded`);
    const operator = await operatorHeaders(world.app);
    const refused = await world.app.inject({
      method: 'POST',
      url: `/v1/reviews/${wf.workflowId}/resolve`,
      headers: operator,
      payload: { decision: 'not_paid', reason: 'no credit seen yet' },
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.message).toMatch(
      new RegExp(`verified notice ${notice.notifyId} says succeeded`),
    );
    const cli = await ops(
      world.apiUrl,
      'reviews',
      'resolve',
      wf.workflowId,
      '--decision',
      'not_paid',
      '--reason',
      'no credit seen yet',
    );
    expect(cli.code).toBe(1);
    expect(cli.err).toMatch(/409 REVIEW_REFUSED/);
    await lock.query('COMMIT');

    expect(await wf.result()).toBe('SUCCEEDED');
    expect(
      await db.pool
        .query(
          `SELECT idempotency_key FROM ledger_transactions WHERE idempotency_key LIKE $1 ORDER BY 1`,
          [`payout:${id}:%`],
        )
        .then((r) => r.rows.map((x) => x.idempotency_key)),
    ).toEqual([`payout:${id}:hold`, `payout:${id}:post`]);
    const { rows: posted } = await db.pool.query(
      `SELECT metadata FROM ledger_transactions WHERE idempotency_key = $1`,
      [`payout:${id}:post`],
    );
    expect(posted[0].metadata).toMatchObject({
      decidedBy: `gateway:notice:${notice.notifyId}`,
      decision: 'paid',
    });
    const { rows: audit } = await db.pool.query(
      `SELECT actor, request_id FROM audit_log WHERE action = 'review.resolved' AND subject = $1`,
      [wf.workflowId],
    );
    expect(audit).toEqual([{ actor: `gateway:notice:${notice.notifyId}`, request_id: null }]);
    await maybeRecordHistory(wf, 'payoutWorkflow-review-settled-by-notice');
  } finally {
    await lock.query('ROLLBACK').catch(() => undefined);
    lock.release();
  }
}, 120_000);

it('payout order number: with 64-character loan and investor ids the review shows the order number the gateway saw, a notice for it is matched, and the API resolves', async () => {
  const loanId = `L${'x'.repeat(60)}nr1`;
  const investor = `I${'y'.repeat(60)}nr1`;
  expect([loanId.length, investor.length]).toEqual([64, 64]);
  const plan: LoanPlan = {
    id: loanId,
    borrowerId: 'nr1-borrower',
    investorIds: [investor],
    holdings: [500_000n],
    termMonths: 1,
    repaymentMethod: 'interest_then_principal',
    intervalSeconds: 3_600,
  };
  await openAndFillLoan(world.app, db, plan);
  // the memo names the order number: the ids do not fit
  executedButUnknown(world, (memo) => memo?.startsWith('scheduled po-') === true);
  await drainOutbox(world.dispatcher, db);
  await until(
    () =>
      handle(`payout-disb-${loanId}`)
        .result()
        .catch(() => 'NOT_YET'),
    (s) => s === 'SUCCEEDED',
    60_000,
  );
  const repayment = await world.env.client.workflow.start(repaymentWorkflow, {
    workflowId: workflowIds.repayment(loanId, 1),
    taskQueue: TASK_QUEUE,
    args: [{ loanId, installment: 1, queryPolicy: FAST }],
  });
  await collectNow(db.pool, repayment);

  // Interest and principal: two payouts, ids of 140 characters; the gateway knows them by
  // po-<digest>.
  const ids = [`${loanId}-1-${investor}-interest`, `${loanId}-1-${investor}-principal`];
  const reviews = await Promise.all(ids.map((id) => untilReview(world, workflowIds.payout(id))));
  const rows = await Promise.all(ids.map(async (id) => (await getPayout(db.pool, id))!));
  for (const [i, e] of reviews.entries()) {
    expect(e.orderNo).toBe(rows[i].orderNo);
    expect(e.orderNo).toMatch(/^po-[0-9a-f]{48}$/);
    const truth = (await (
      await fetch(`${world.simulator.url}/_sim/truth?orderNo=${encodeURIComponent(e.orderNo)}`)
    ).json()) as { orders: { status: string }[] };
    // an operator looking it up finds it
    expect(truth.orders.map((o) => o.status)).toEqual(['SUCCESS']);
    expect((await listed(workflowIds.payout(ids[i]))).evidence.orderNo).toBe(rows[i].orderNo);
  }
  const shown = await ops(world.apiUrl, 'reviews', 'show', workflowIds.payout(ids[0]));
  expect(shown.out).toContain(`order ${rows[0].orderNo}`);

  // The gateway's notice names the order number: it reaches the interest payout and settles it.
  const notice = await postNotice(world.app, {
    orderNo: rows[0].orderNo,
    kind: 'PAYOUT',
    amountMinor: rows[0].amountMinor,
    status: 'SUCCESS',
  });
  expect(notice.statusCode).toBe(200);
  expect(await handle(workflowIds.payout(ids[0])).result()).toBe('SUCCEEDED');
  // The principal: an operator checked the gateway's record under that number and says paid.
  const resolved = await world.app.inject({
    method: 'POST',
    url: `/v1/reviews/payout-${ids[1]}/resolve`,
    headers: await operatorHeaders(world.app),
    payload: { decision: 'paid', reason: `gateway shows ${rows[1].orderNo} SUCCESS` },
  });
  expect(resolved.json()).toEqual({ workflowId: workflowIds.payout(ids[1]), state: 'SUCCEEDED' });
  expect(await repayment.result()).toBe('PAID_OUT');
  const { rows: decided } = await db.pool.query(
    `SELECT subject, actor FROM audit_log WHERE action = 'review.resolved' ORDER BY subject`,
  );
  expect(
    decided
      .filter((d) => ids.some((id) => d.subject === workflowIds.payout(id)))
      .map((d) => d.actor),
  ).toEqual([`gateway:notice:${notice.notifyId}`, expect.stringMatching(/^operator:/)]);
  expect((await new Ledger(db.pool).balance(`investor:${investor}:available`)).pendingDebits).toBe(
    0n,
  );
  await maybeRecordHistory(handle(workflowIds.payout(ids[1])), 'payoutWorkflow-order-no-from-row');
}, 180_000);

it('recovery collection: its review is listed and resolved through POST /v1/reviews/recovery-.../resolve and the CLI', async () => {
  await world.app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'rr-1' },
    payload: { id: 'rory', name: 'Rory' },
  });
  // where the collection is taken from: a verified account on file
  await putVerifiedAccountOnFile(db.pool, 'rory', ACCOUNT);
  const { recoveryId, workflowId, wf } = await openRecoveryByHand(world, {
    investorId: 'rory',
    amount: '25.00',
    reason: 'paid twice in March',
    idempotencyKey: 'rr-open',
    queryPolicy: FAST,
  });
  executedButUnknown(world, (memo) => memo === `recovery rq-${recoveryId}-1`);
  const requested = await wf.startUpdate(requestCollectionUpdate, {
    args: [await recorded(db.pool, wf.workflowId, 'recovery.request_collection', {}, 'asked Rory')],
    waitForStage: WorkflowUpdateStage.ACCEPTED,
  });
  const evidence = await untilReview(world, workflowId);
  expect((await listed(workflowId)).kind).toBe('recoveryWorkflow');
  const list = await ops(world.apiUrl, 'reviews', 'list');
  expect(list.out).toContain(workflowId);
  const bad = await world.app.inject({
    method: 'POST',
    url: `/v1/reviews/${workflowId}/resolve`,
    headers: await operatorHeaders(world.app),
    payload: { decision: 'maybe', reason: 'xyz' },
  });
  expect(bad.statusCode).toBe(400);
  const cli = await ops(
    world.apiUrl,
    'reviews',
    'resolve',
    workflowId,
    '--decision',
    'paid',
    '--reason',
    `gateway shows ${evidence.orderNo} SUCCESS`,
  );
  expect(cli).toMatchObject({ code: 0, out: `${workflowId}: RECOVERED` });
  expect(await requested.result()).toBe('RECOVERED');
  expect(await wf.result()).toBe('RECOVERED');
  const { rows } = await db.pool.query(
    `SELECT metadata FROM ledger_transactions WHERE idempotency_key = $1`,
    [`recovery:${recoveryId}:collect:${evidence.orderNo}`],
  );
  expect(rows[0].metadata).toMatchObject({
    decision: 'paid',
    decidedBy: expect.stringMatching(/^admin|^operator:/),
  });
  await maybeRecordHistory(wf, 'recoveryWorkflow-collection-review-resolved');
}, 120_000);

it("repayment: a notice for an earlier attempt's order does not settle the review of the attempt after it", async () => {
  const loanId = 'nr2';
  await openAndFillLoan(world.app, db, {
    id: loanId,
    holdings: [200_000n],
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
  // Attempt 1 is refused by the borrower's bank; attempt 2 is executed but answered 500, and every
  // query 503.
  let submits = 0;
  world.gateway.rule = (call) => {
    // both attempts of installment 1
    if (!call.memo?.startsWith(`repayment rp-${loanId}-1-`)) return undefined;
    if (call.op === 'query') return 'error-5xx-before-execute';
    return ++submits === 1 ? 'fail:INSUFFICIENT_FUNDS' : 'error-5xx-after-execute';
  };
  const wf = await world.env.client.workflow.start(repaymentWorkflow, {
    workflowId: workflowIds.repayment(loanId, 1),
    taskQueue: TASK_QUEUE,
    args: [{ loanId, installment: 1, queryPolicy: FAST }],
  });
  await collectNow(db.pool, wf);
  const first = await until(
    () =>
      db.pool.query<{ order_no: string; status: string; amount_minor: string }>(
        'SELECT order_no, status, amount_minor FROM repayment_collections WHERE loan_id = $1 AND attempt = 1',
        [loanId],
      ),
    (r) => r.rows[0]?.status === 'FAILED',
  );
  await collectNow(db.pool, wf);
  const evidence = await untilReview(world, wf.workflowId);
  expect(evidence.orderNo).not.toBe(first.rows[0].order_no);

  // A signed SUCCESS naming attempt 1's order (late, or out of order): another order, so this
  // review ignores it.
  const stale = await postNotice(world.app, {
    orderNo: first.rows[0].order_no,
    kind: 'COLLECTION',
    amountMinor: BigInt(first.rows[0].amount_minor),
    status: 'SUCCESS',
  });
  expect(stale.statusCode).toBe(200);
  await new Promise((r) => setTimeout(r, 500));
  const still = await wf.query(reviewEvidenceQuery);
  expect(still).toMatchObject({ state: 'MANUAL_REVIEW', orderNo: evidence.orderNo, notices: [] });
  // The notice for attempt 2's own order settles it.
  const {
    rows: [second],
  } = await db.pool.query<{ amount_minor: string }>(
    'SELECT amount_minor FROM repayment_collections WHERE order_no = $1',
    [evidence.orderNo],
  );
  const own = await postNotice(world.app, {
    orderNo: evidence.orderNo,
    kind: 'COLLECTION',
    amountMinor: BigInt(second.amount_minor),
    status: 'SUCCESS',
  });
  expect(own.statusCode).toBe(200);
  expect(await wf.result()).toBe('PAID_OUT');
  const { rows } = await db.pool.query(
    'SELECT attempt, status FROM repayment_collections WHERE loan_id = $1 ORDER BY attempt',
    [loanId],
  );
  expect(rows).toEqual([
    { attempt: 1, status: 'FAILED' },
    { attempt: 2, status: 'SUCCEEDED' },
  ]);
}, 120_000);
