// Issue 25, end to end with the longest ids the API accepts: 64-character loan (with dashes, so
// its payouts take the longest, length-prefixed form), borrower and investor ids. On the real
// stack (Postgres, a Temporal dev server, the gateway simulator): a loan rushed (one investor too
// many: LOAN_FULL), disbursed, repaid and paid out; a recovery offset from a payout; one payout put
// into manual review and resolved through the API by its 154-character workflow id; a verified
// notice matched to a payout still querying, and a late one to a finished payout;
// the day reconciled with zero exceptions. Each investor is paid each part exactly once, and the
// order number the review shows is the one the gateway's truth journal holds.
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';
import { approveHeld } from '../helpers/approvals';
import { disbursementPayoutId, scheduledPayoutId } from '../../ids/derived';
import { CLIENT_ID_MAX } from '../../ids/limits';
import { workflowIds } from '../../ids/workflow-ids';
import { orderNoFor } from '../../payments/order-numbers';
import { repaymentWorkflow } from '../../workflows';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import {
  reviewEvidenceQuery,
  type QueryPolicy,
  type ReviewEvidence,
} from '../../workflows/contracts/gateway-order';
import { ACCOUNT } from '../gateway/helpers';
import { drainOutbox, fundInvestor } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import {
  admin,
  expectLedgerEqualsTruth,
  operatorHeaders,
  postNotice,
  until,
  useOutcomeWorld,
} from '../outcomes/helpers';
import { reconcile, today } from '../reconciliation/helpers';
import { collectNow } from '../helpers/decisions';

const world = useOutcomeWorld({ poolSize: 20 });
const { db } = world;
// Long enough in QUERYING (about 5 s) for a notice to arrive there; short enough for a test.
const POLICY: QueryPolicy = { attempts: 6, initialIntervalMs: 500, maxIntervalMs: 1_000 };

const pad = (head: string, fill: string) => `${head}${fill.repeat(CLIENT_ID_MAX - head.length)}`;
const LOAN = pad('L-1-', 'l');
const BORROWER = pad('B-', 'b');
const INVESTORS = [0, 1, 2, 3].map((i) => pad(`I${i}-`, 'i'));

it('the longest ids: rushed, disbursed, repaid, paid out once each, a review resolved by the API, a late notice matched, the day clean', async () => {
  expect([LOAN, BORROWER, ...INVESTORS].every((id) => id.length === CLIENT_ID_MAX)).toBe(true);
  const post = async (url: string, payload: object, headers: Record<string, string>, key: string) =>
    world.app.inject({
      method: 'POST',
      url,
      headers: { ...headers, 'idempotency-key': key },
      payload,
    });
  expect(
    (await post('/v1/borrowers', { id: BORROWER, name: 'Borrower' }, admin, 'bor')).statusCode,
  ).toBe(201);
  // where the disbursement goes and the repayment comes from: a verified account on file
  await putVerifiedAccountOnFile(db.pool, BORROWER, ACCOUNT);
  const loan = await post(
    '/v1/loans',
    {
      id: LOAN,
      borrowerId: BORROWER,
      principal: '6000.00',
      annualRate: '0.12',
      termMonths: 1,
      repaymentMethod: 'interest_then_principal',
      subscriptionDeadline: new Date(Date.now() + 600_000).toISOString(),
      feeRate: '0.01',
      installmentIntervalSeconds: 3_600,
      interestFeeRate: '0.1',
    },
    admin,
    'loan',
  );
  expect(loan.json()).toEqual({ loanId: LOAN, workflowId: workflowIds.loan(LOAN) });
  const keys: string[] = [];
  for (const [i, id] of INVESTORS.entries()) {
    expect(
      (await post('/v1/investors', { id, name: `Investor ${i}` }, admin, `inv-${i}`)).statusCode,
    ).toBe(201);
    // where their scheduled payouts go: a verified account on file
    await putVerifiedAccountOnFile(db.pool, id, ACCOUNT);
    keys.push(
      (
        await world.app.inject({
          method: 'POST',
          url: '/v1/api-keys',
          headers: admin,
          payload: { role: `investor:${id}` },
        })
      ).json<{ key: string }>().key,
    );
    await fundInvestor(db, id, 1_000_000n);
  }

  // The rush: four investors at once for three shares.
  const answers = await Promise.all(
    INVESTORS.map((id, i) =>
      post(
        `/v1/loans/${LOAN}/subscriptions`,
        { investorId: id, amount: '2000.00' },
        { authorization: `Bearer ${keys[i]}` },
        `sub-${i}`,
      ),
    ),
  );
  expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 201, 201, 409]);
  expect(answers.find((a) => a.statusCode === 409)!.json().error.code).toBe('LOAN_FULL');
  const holders = INVESTORS.filter((_id, i) => answers[i].statusCode === 201);
  const subscription = answers
    .find((a) => a.statusCode === 201)!
    .json<{ subscriptionId: string }>().subscriptionId;
  expect(
    (
      await world.app.inject({
        method: 'GET',
        url: `/v1/subscriptions/${subscription}`,
        headers: admin,
      })
    ).statusCode,
  ).toBe(200);

  // Two payouts are executed but answered 500, and every query 503: one goes to review; the
  // gateway's signed notice reaches the other while it is still QUERYING.
  const reviewed = scheduledPayoutId(LOAN, 1, holders[0], 'interest');
  const reviewedOrderNo = orderNoFor(reviewed, 'po');
  const noticed = scheduledPayoutId(LOAN, 1, holders[1], 'principal');
  const noticedOrderNo = orderNoFor(noticed, 'po');
  world.gateway.rule = (call) =>
    call.orderNo !== reviewedOrderNo && call.orderNo !== noticedOrderNo
      ? undefined
      : call.op === 'submit'
        ? 'error-5xx-after-execute'
        : 'error-5xx-before-execute';
  // The third holder owes 1.00 back (a recovery opened by hand): offset from their next payout.
  const operator = await operatorHeaders(world.app);
  const opened = await post(
    '/v1/recoveries',
    { investorId: holders[2], amount: '1.00', reason: 'paid twice by the other channel' },
    operator,
    'rec-1',
  );
  const recoveryId = (await approveHeld<{ id: string }>(world.app, opened)).id;

  await drainOutbox(world.dispatcher, db);
  const disbursement = world.env.client.workflow.getHandle(
    workflowIds.payout(disbursementPayoutId(LOAN)),
  );
  await until(
    () => disbursement.result().catch(() => 'NOT_YET'),
    (s) => s === 'SUCCEEDED',
    60_000,
  );
  const repayment = await world.env.client.workflow.start(repaymentWorkflow, {
    workflowId: workflowIds.repayment(LOAN, 1),
    taskQueue: TASK_QUEUE,
    args: [{ loanId: LOAN, installment: 1, queryPolicy: POLICY }],
  });
  await collectNow(db.pool, repayment);

  // A verified notice for the order number the gateway saw reaches the payout while it queries.
  const noticedWorkflow = world.env.client.workflow.getHandle(workflowIds.payout(noticed));
  await until(
    () => noticedWorkflow.query(reviewEvidenceQuery).catch(() => undefined),
    (e) => e?.state === 'QUERYING',
    60_000,
  );
  const {
    rows: [noticedRow],
  } = await db.pool.query<{ amount_minor: string; order_no: string }>(
    'SELECT amount_minor, order_no FROM payouts WHERE id = $1',
    [noticed],
  );
  expect(noticedRow.order_no).toBe(noticedOrderNo);
  expect(
    (
      await postNotice(world.app, {
        orderNo: noticedRow.order_no,
        kind: 'PAYOUT',
        amountMinor: BigInt(noticedRow.amount_minor),
        status: 'SUCCESS',
      })
    ).statusCode,
  ).toBe(200);
  expect(await noticedWorkflow.result()).toBe('SUCCEEDED');
  expect(
    (await noticedWorkflow.query(reviewEvidenceQuery)).attempts.map((a) => a.action),
  ).toContain('notice');

  // The review names the order number the gateway saw, and the gateway's record under it is
  // SUCCESS.
  const workflowId = workflowIds.payout(reviewed);
  expect(workflowId.length).toBeGreaterThan(150);
  const evidence = (await until(
    () =>
      world.env.client.workflow
        .getHandle(workflowId)
        .query(reviewEvidenceQuery)
        .catch(() => undefined),
    (e) => e?.state === 'MANUAL_REVIEW',
    60_000,
  )) as ReviewEvidence;
  expect(evidence.orderNo).toBe(reviewedOrderNo);
  expect(
    world.simulator
      .truth()
      .filter((o) => o.orderNo === evidence.orderNo)
      .map((o) => o.status),
  ).toEqual(['SUCCESS']);
  const shown = await world.app.inject({
    method: 'GET',
    url: `/v1/payouts/${reviewed}`,
    headers: operator,
  });
  expect(shown.json()).toMatchObject({
    id: reviewed,
    orderNo: reviewedOrderNo,
    status: 'MANUAL_REVIEW',
  });
  const listed = (
    await world.app.inject({ method: 'GET', url: '/v1/reviews', headers: operator })
  ).json<{ workflowId: string; evidence: ReviewEvidence }[]>();
  expect(listed.find((r) => r.workflowId === workflowId)?.evidence.orderNo).toBe(reviewedOrderNo);
  const resolved = await world.app.inject({
    method: 'POST',
    url: `/v1/reviews/${workflowId}/resolve`,
    headers: operator,
    payload: { decision: 'paid', reason: `gateway shows ${reviewedOrderNo} SUCCESS` },
  });
  expect(resolved.json()).toEqual({ workflowId, state: 'SUCCEEDED' });
  expect(await repayment.result()).toBe('PAID_OUT');

  // Each holder paid each part exactly once, under the order number stored with the payout.
  const { rows: payouts } = await db.pool.query<{
    id: string;
    order_no: string;
    party_id: string;
    status: string;
  }>(`SELECT id, order_no, party_id, status FROM payouts WHERE purpose = 'scheduled' ORDER BY id`);
  expect(payouts.map((p) => [p.party_id, p.status]).sort()).toEqual(
    holders
      .flatMap((h) => [
        [h, 'SUCCEEDED'],
        [h, 'SUCCEEDED'],
      ])
      .sort(),
  );
  for (const p of payouts) {
    expect(p.id.length).toBeGreaterThan(140);
    expect(
      world.simulator
        .truth()
        .filter((o) => o.orderNo === p.order_no)
        .map((o) => o.status),
    ).toEqual(['SUCCESS']);
  }

  // The recovery was offset from the third holder's payout, keyed by that payout's 147-character
  // id.
  const { rows: offsets } = await db.pool.query<{ idempotency_key: string }>(
    `SELECT idempotency_key FROM ledger_transactions WHERE idempotency_key LIKE $1`,
    [`recovery:${recoveryId}:offset:%`],
  );
  expect(offsets).toHaveLength(1);
  expect(offsets[0].idempotency_key.length).toBeGreaterThan(170);
  const {
    rows: [recovery],
  } = await db.pool.query<{ state: string }>('SELECT state FROM recoveries WHERE id = $1', [
    recoveryId,
  ]);
  expect(recovery.state).toBe('RECOVERED');

  // A verified late notice for a finished payout is matched to its order: LATE, no alert, no
  // exception.
  const late = payouts.find((p) => p.id !== reviewed && p.id !== noticed)!;
  const {
    rows: [amount],
  } = await db.pool.query<{ amount_minor: string }>(
    'SELECT amount_minor FROM payouts WHERE id = $1',
    [late.id],
  );
  expect(
    (
      await postNotice(world.app, {
        orderNo: late.order_no,
        kind: 'PAYOUT',
        amountMinor: BigInt(amount.amount_minor),
        status: 'SUCCESS',
      })
    ).statusCode,
  ).toBe(200);
  const metrics = (await world.app.inject({ method: 'GET', url: '/metrics' })).body;
  expect(metrics).toMatch(/^gateway_notifications_total\{result="LATE"\} 1$/m);
  // the one that reached the querying payout
  expect(metrics).toMatch(/^gateway_notifications_total\{result="SUCCESS"\} 1$/m);
  expect(metrics).not.toMatch(/^gateway_notice_contradictions_total\{/m);

  // The day reconciles with nothing to explain.
  const day = await reconcile(world.app, operator, today());
  expect({ state: day.state, exceptions: day.exceptions }).toEqual({
    state: 'CLEAN',
    exceptions: [],
  });
  expect(day.matched).toBe(payouts.length + 2); // the disbursement and the collection too

  world.gateway.rule = () => undefined;
  await expectLedgerConsistent(db.pool);
  await expectLedgerEqualsTruth(db.pool, world.simulator);
}, 180_000);
