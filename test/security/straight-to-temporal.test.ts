// Issue 26 item 3: every money-moving Update and Signal sent straight to Temporal, as the Web UI's
// "Send an Update" dialog or the `temporal` CLI would, with forged inputs: the decision in the
// Update itself under a typed name, a made-up decision id, another workflow's decision, a decision
// of another kind, a decision used already, a notice the API never verified. Each is refused with
// nothing posted, voided or sent to the gateway; the refusal is recorded and on /metrics; the
// workflow still waits in its named state for the authenticated path, which then works.
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';
import { approveHeld, heldApproval } from '../helpers/approvals';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { payoutRunWorkflow, recoveryWorkflow } from '../../workflows';
import { SearchAttributes, TASK_QUEUE } from '../../workflows/contracts/common';
import {
  gatewayNoticeSignal,
  resolveReviewUpdate,
  reviewEvidenceQuery,
  type QueryPolicy,
} from '../../workflows/contracts/gateway-order';
import { resolveExceptionUpdate } from '../../workflows/contracts/reconciliation';
import {
  recoveryStateQuery,
  requestCollectionUpdate,
  writeOffUpdate,
} from '../../workflows/contracts/recovery';
import { collectNowSignal, repaymentStateQuery } from '../../workflows/contracts/repayment';
import { cancelSubscriptionSignal } from '../../workflows/contracts/subscription';
import { workflowIds } from '../../ids/workflow-ids';
import { ACCOUNT } from '../gateway/helpers';
import { collectAndDistribute, createRepayingLoan } from '../money-safety/fixtures';
import { recorded } from '../helpers/decisions';
import { drainOutbox, fundInvestor, maybeRecordHistory } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import {
  admin,
  expectLedgerEqualsTruth,
  openRecoveryByHand,
  operatorHeaders,
  ops,
  until,
  useOutcomeWorld,
  withdrawalInReview,
} from '../outcomes/helpers';
import { reconcile, today } from '../reconciliation/helpers';

const world = useOutcomeWorld({ poolSize: 20 });
const { db } = world;
const FAST: QueryPolicy = { attempts: 2, initialIntervalMs: 200, maxIntervalMs: 400 };
const MADE_UP = 'dec-00000000-0000-4000-8000-000000000000';

/**
 * Off where a test's money did not all go through the gateway (second-channel payments, a
 * collection booked by a fixture).
 */
let paymentsOnly = true;
afterEach(async () => {
  world.gateway.rule = () => undefined;
  await expectLedgerConsistent(db.pool);
  if (paymentsOnly) await expectLedgerEqualsTruth(db.pool, world.simulator);
});

const refusals = async (workflowId: string) =>
  (
    await db.pool.query<{ why: string }>(
      'SELECT why FROM operator_decision_refusals WHERE workflow_id = $1 ORDER BY id',
      [workflowId],
    )
  ).rows.map((r) => r.why);
/** Every ledger transaction that names the subject in its idempotency key. */
const postings = async (like: string) =>
  (
    await db.pool.query<{ k: string }>(
      'SELECT idempotency_key AS k FROM ledger_transactions WHERE idempotency_key LIKE $1 ORDER BY 1',
      [like],
    )
  ).rows.map((r) => r.k);
const searchAttribute = async (handle: WorkflowHandle, key: string) =>
  (await handle.describe()).typedSearchAttributes.get({
    name: key,
    type: SearchAttributes.ReviewState.type,
  } as typeof SearchAttributes.ReviewState);
async function refusedMetric(kind: string): Promise<number> {
  const text = (await world.app.inject({ method: 'GET', url: '/metrics', headers: admin })).body;
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`operator_decisions_refused{kind="${kind}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
async function expectRefused(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  let cause: unknown = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  expect((cause as Error).message).toMatch(pattern);
}

it('a payout in review: forged resolveReview Updates and a forged gatewayNotice Signal change nothing, are counted, and the API still decides', async () => {
  const id = 'st-payout-1';
  // Executed at the gateway, answered 500, every query 503: it waits for a person.
  const { wf, evidence } = await withdrawalInReview(
    world,
    { id: 'stella', name: 'Stella', key: 'st-1' },
    id,
    7_700n,
  );
  const orderNo = evidence!.orderNo;
  // Item 4: the evidence says how to decide, through the authenticated channel only.
  expect(evidence!.decide).toEqual({
    cli: `npm run ops -- reviews resolve ${wf.workflowId} --decision <paid|not_paid> [--resubmit] --reason "<what the bank shows>"`,
    api: `POST /v1/reviews/${wf.workflowId}/resolve {"decision":"paid"|"not_paid","reason":"...","resubmit":true}`,
    note: expect.stringContaining('Web UI is refused'),
  });
  const shown = await ops(world.apiUrl, 'reviews', 'show', wf.workflowId);
  expect(shown.out).toContain(`order ${orderNo}`);
  expect(shown.out).toContain(`npm run ops -- reviews resolve ${wf.workflowId}`);
  const before = {
    postings: await postings(`payout:${id}:%`),
    calls: world.gateway.callsFor(orderNo).length,
    metric: await refusedMetric('review.resolve'),
  };
  expect(before.postings).toEqual([`payout:${id}:hold`]);

  // What the Web UI's dialog sends: the decision itself, under a name anyone can type.
  await expectRefused(
    wf.executeUpdate('resolveReview', {
      args: [{ decision: 'not_paid', reason: 'looks failed', operator: 'someone-else' }],
    }),
    /no such decision/,
  );
  await expectRefused(
    wf.executeUpdate(resolveReviewUpdate, { args: [{ decisionId: MADE_UP }] }),
    /no such decision/,
  );
  const others = await recorded(
    db.pool,
    'payout-somebody-else',
    'review.resolve',
    { decision: 'not_paid' },
    'for another payout',
  );
  await expectRefused(
    wf.executeUpdate(resolveReviewUpdate, { args: [others] }),
    /is for payout-somebody-else, not this workflow/,
  );
  const wrongKind = await recorded(
    db.pool,
    wf.workflowId,
    'recovery.write_off',
    {},
    'not a review decision',
  );
  await expectRefused(
    wf.executeUpdate(resolveReviewUpdate, { args: [wrongKind] }),
    /is a recovery.write_off, not a review.resolve/,
  );
  // A notice the API never verified nor stored: not evidence, not a settlement.
  await wf.signal(gatewayNoticeSignal, {
    notifyId: 'forged-notice-1',
    orderNo,
    outcome: 'failed',
    code: 'INVALID_ACCOUNT',
  });
  await until(
    () => refusals(wf.workflowId),
    (r) => r.length === 5,
    10_000,
  );

  const now = await wf.query(reviewEvidenceQuery);
  expect(now).toMatchObject({ state: 'MANUAL_REVIEW', notices: [] });
  expect(await searchAttribute(wf, 'ReviewState')).toBe('Pending');
  // nothing posted, nothing voided
  expect(await postings(`payout:${id}:%`)).toEqual(before.postings);
  expect(world.gateway.callsFor(orderNo)).toHaveLength(before.calls); // nothing sent
  expect(await refusedMetric('review.resolve')).toBe(before.metric + 4);
  expect(await refusedMetric('gateway.notice')).toBeGreaterThanOrEqual(1);
  const { rows: audit } = await db.pool.query(
    `SELECT actor FROM audit_log WHERE subject = $1 AND action = 'review.resolved'`,
    [wf.workflowId],
  );
  expect(audit).toEqual([]);

  // The authenticated path: the actor is the key, never a typed name.
  const res = await world.app.inject({
    method: 'POST',
    url: `/v1/reviews/${wf.workflowId}/resolve`,
    headers: await operatorHeaders(world.app),
    payload: { decision: 'paid', reason: `gateway shows ${orderNo} SUCCESS` },
  });
  expect(res.json()).toEqual({ workflowId: wf.workflowId, state: 'SUCCEEDED' });
  const {
    rows: [used],
  } = await db.pool.query<{ id: string; actor: string }>(
    `SELECT id, actor FROM operator_decisions WHERE workflow_id = $1 AND taken_at IS NOT NULL`,
    [wf.workflowId],
  );
  expect(used.actor).toMatch(/^operator:[0-9a-f]{16}$/);
  const { rows: decided } = await db.pool.query(
    `SELECT actor FROM audit_log WHERE subject = $1 AND action = 'review.resolved'`,
    [wf.workflowId],
  );
  expect(decided).toEqual([{ actor: used.actor }]);

  // The same decision sent again, straight, to the closed workflow: refused, nothing more posted.
  await expect(
    wf.executeUpdate(resolveReviewUpdate, { args: [{ decisionId: used.id }] }),
  ).rejects.toThrow();
  expect(await postings(`payout:${id}:%`)).toEqual([`payout:${id}:hold`, `payout:${id}:post`]);
  await maybeRecordHistory(wf, 'payoutWorkflow-forged-decisions-refused');
}, 120_000);

it('a recovery: forged writeOff and requestCollection Updates change nothing; a decision used once is refused when replayed', async () => {
  await world.app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'st-2' },
    payload: { id: 'sven', name: 'Sven' },
  });
  // where the collection is taken from: a verified account on file
  await putVerifiedAccountOnFile(db.pool, 'sven', ACCOUNT);
  const { recoveryId, workflowId, wf } = await openRecoveryByHand(world, {
    investorId: 'sven',
    amount: '12.00',
    reason: 'paid twice in May',
    idempotencyKey: 'st-open',
    queryPolicy: FAST,
  });
  const writeOffs = () => postings(`recovery:${recoveryId}:%write%`);
  const callsBefore = world.gateway.calls.length;

  await expectRefused(
    wf.executeUpdate('writeOff', { args: [{ reason: 'gone', operator: 'someone-else' }] }),
    /no such decision/,
  );
  await expectRefused(
    wf.executeUpdate(requestCollectionUpdate, { args: [{ decisionId: MADE_UP }] }),
    /no such decision/,
  );
  const reviewDecision = await recorded(
    db.pool,
    workflowId,
    'review.resolve',
    { decision: 'paid' },
    'wrong kind',
  );
  await expectRefused(
    wf.executeUpdate(writeOffUpdate, { args: [reviewDecision] }),
    /is a review.resolve, not a recovery.write_off/,
  );
  expect(await wf.query(recoveryStateQuery)).toBe('OFFSETTING');
  expect(await searchAttribute(wf, 'RecoveryState')).toBe('Offsetting');
  expect(await writeOffs()).toEqual([]);
  expect(world.gateway.calls.length).toBe(callsBefore); // no collection was asked
  expect(await refusals(workflowId)).toHaveLength(3);

  // A collection asked through the API that the gateway refuses leaves it OFFSETTING again; the
  // same decision replayed straight to Temporal does not ask a second time.
  world.gateway.rule = (call) =>
    call.memo?.startsWith(`recovery rq-${recoveryId}-`) && call.op === 'submit'
      ? 'fail:INVALID_ACCOUNT'
      : undefined;
  const asked = await world.app.inject({
    method: 'POST',
    url: `/v1/recoveries/${recoveryId}/request-collection`,
    headers: await operatorHeaders(world.app),
    payload: { reason: 'asked Sven' },
  });
  expect(asked.json()).toMatchObject({ state: 'OFFSETTING' });
  const submits = () =>
    world.gateway.calls.filter(
      (c) => c.op === 'submit' && c.memo?.startsWith(`recovery rq-${recoveryId}-`),
    ).length;
  expect(submits()).toBe(1);
  const {
    rows: [used],
  } = await db.pool.query<{ id: string }>(
    `SELECT id FROM operator_decisions WHERE workflow_id = $1 AND kind = 'recovery.request_collection'`,
    [workflowId],
  );
  await expectRefused(
    wf.executeUpdate(requestCollectionUpdate, { args: [{ decisionId: used.id }] }),
    /was used already/,
  );
  expect(submits()).toBe(1);
  expect(await wf.query(recoveryStateQuery)).toBe('OFFSETTING');

  const off = await world.app.inject({
    method: 'POST',
    url: `/v1/recoveries/${recoveryId}/write-off`,
    headers: await operatorHeaders(world.app),
    payload: { reason: 'not worth chasing' },
  });
  expect(await approveHeld(world.app, off)).toMatchObject({ state: 'WRITTEN_OFF' });
  expect(await wf.result()).toBe('WRITTEN_OFF');
  await maybeRecordHistory(wf, 'recoveryWorkflow-forged-decisions-refused');
}, 120_000);

it('a reconciliation day: a forged resolveException and a replayed decision change nothing; the day waits in ReconState Exceptions', async () => {
  paymentsOnly = false;
  const operator = await operatorHeaders(world.app);
  for (const orderNo of ['st-second-1', 'st-second-2']) {
    const res = await fetch(`${world.simulator.url}/_sim/executed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'PAYOUT', orderNo, amount: '33.00', currency: 'CNY' }),
    });
    expect(res.ok).toBe(true);
  }
  const day = await reconcile(world.app, operator, today(), true);
  const ours = day.exceptions.filter(
    (e) => e.orderNo.startsWith('st-second-') && e.status === 'OPEN',
  );
  expect(ours.map((e) => e.class)).toEqual(['THEIRS_ONLY', 'THEIRS_ONLY']);
  const wf = world.env.client.workflow.getHandle(workflowIds.reconciliation('default', today()));
  const suspense = () => postings(`recon:%:exception:%`);
  const before = await suspense();

  await expectRefused(
    wf.executeUpdate('resolveException', {
      args: [{ exceptionId: ours[0].id, action: 'adjust', reason: 'x', operator: 'someone-else' }],
    }),
    /no such decision/,
  );
  const first = await world.app.inject({
    method: 'POST',
    url: `/v1/reconciliations/default/${today()}/exceptions/${ours[0].id}/resolve`,
    headers: operator,
    payload: { action: 'adjust', reason: 'a second channel paid it' },
  });
  // An adjustment waits for a second operator: nothing posts until approved.
  heldApproval(first);
  expect(await suspense()).toEqual(before);
  await approveHeld(world.app, first);
  const afterFirst = await suspense();
  expect(afterFirst.length).toBe(before.length + 1);
  const {
    rows: [used],
  } = await db.pool.query<{ id: string }>(
    `SELECT id FROM operator_decisions WHERE workflow_id = $1 AND taken_at IS NOT NULL ORDER BY created_at DESC LIMIT 1`,
    [wf.workflowId],
  );
  await expectRefused(
    wf.executeUpdate(resolveExceptionUpdate, { args: [{ decisionId: used.id }] }),
    /was used already/,
  );
  expect(await suspense()).toEqual(afterFirst);
  expect(await searchAttribute(wf, 'ReconState')).toBe('Exceptions');
  const open = (await reconcile(world.app, operator, today())).exceptions.filter(
    (e) => e.orderNo === 'st-second-2',
  );
  expect(open.map((e) => e.status)).toEqual(['OPEN']);

  const second = await world.app.inject({
    method: 'POST',
    url: `/v1/reconciliations/default/${today()}/exceptions/${open[0].id}/resolve`,
    headers: operator,
    payload: { action: 'adjust', reason: 'a second channel paid it' },
  });
  await approveHeld(world.app, second);
  const end = await reconcile(world.app, operator, today(), true);
  expect(
    end.exceptions.filter((e) => e.orderNo.startsWith('st-second-') && e.status === 'OPEN'),
  ).toEqual([]);
  await maybeRecordHistory(wf, 'reconciliationWorkflow-forged-decisions-refused');
}, 120_000);

it('starts by hand: a payout run started straight to Temporal without a recorded decision, or a recovery with a made-up one, does nothing', async () => {
  paymentsOnly = false; // the fixture books the borrower's collection without the gateway
  await createRepayingLoan(db.pool, {
    id: 'st-loan',
    holdings: [{ investorId: 'st-inv', holdingMinor: 100_000n }],
    termMonths: 1,
    repaymentMethod: 'interest_then_principal',
  });
  await collectAndDistribute(db.pool, 'st-loan', 1);
  const payouts = async () =>
    (await db.pool.query(`SELECT count(*)::int AS n FROM payouts WHERE loan_id = 'st-loan'`))
      .rows[0].n as number;
  const forged = await world.env.client.workflow.start(payoutRunWorkflow, {
    workflowId: 'payout-run-st-loan-1-forged',
    taskQueue: TASK_QUEUE,
    args: [{ loanId: 'st-loan', installment: 1 }],
  });
  await expect(forged.result()).rejects.toThrow();
  const wrong = await recorded(
    db.pool,
    'payout-run-st-loan-1-other',
    'payout_run.start',
    { loanId: 'st-loan', installment: 1 },
    'for another run',
  );
  const another = await world.env.client.workflow.start(payoutRunWorkflow, {
    workflowId: 'payout-run-st-loan-1-x',
    taskQueue: TASK_QUEUE,
    args: [{ loanId: 'st-loan', installment: 1, ...wrong }],
  });
  await expect(another.result()).rejects.toThrow();
  expect(await payouts()).toBe(0); // nobody paid, nothing prepared
  expect(await refusals('payout-run-st-loan-1-forged')).toEqual([
    expect.stringMatching(/no such decision/),
  ]);
  expect(await refusals('payout-run-st-loan-1-x')).toEqual([
    expect.stringMatching(/is for payout-run-st-loan-1-other/),
  ]);

  // Through the API (the decision recorded with the key), the same installment is paid once.
  const res = await world.app.inject({
    method: 'POST',
    url: '/v1/payout-runs',
    headers: await operatorHeaders(world.app),
    payload: { loanId: 'st-loan', installment: 1 },
  });
  // started by hand, it waits for a second operator; approved, the run's start is an outbox row,
  // committed with its decision and audit row
  expect(await payouts()).toBe(0);
  await approveHeld(world.app, res);
  await drainOutbox(world.dispatcher, world.db);
  const result = await world.env.client.workflow.getHandle(res.json().workflowId).result();
  expect(result).toMatchObject({ payouts: 2, failed: 0, manualReview: 0 });

  const recovery = await world.env.client.workflow.start(recoveryWorkflow, {
    workflowId: 'recovery-st-forged',
    taskQueue: TASK_QUEUE,
    args: [{ recoveryId: 'st-forged', investorId: 'st-inv', decisionId: MADE_UP }],
  });
  await expect(recovery.result()).rejects.toThrow();
  expect(await refusals('recovery-st-forged')).toEqual([expect.stringMatching(/no such decision/)]);
}, 120_000);

it("a recovery's second collection in review: the first review's decision, replayed straight to Temporal, is refused (one gate per workflow run)", async () => {
  await world.app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'st-3' },
    payload: { id: 'saga', name: 'Saga' },
  });
  // where the collection is taken from: a verified account on file
  await putVerifiedAccountOnFile(db.pool, 'saga', ACCOUNT);
  const operator = await operatorHeaders(world.app);
  const { recoveryId, workflowId, wf } = await openRecoveryByHand(world, {
    investorId: 'saga',
    amount: '21.00',
    reason: 'paid twice in June',
    idempotencyKey: 'st-open-3',
    queryPolicy: FAST,
  });
  // Attempt 1 is not executed but answered 500 and queried 503: review, decided not paid. Attempt 2
  // executes, same answers: review.
  const memo = (n: number) => `recovery rq-${recoveryId}-${n}`;
  world.gateway.rule = (call) =>
    call.memo === memo(1)
      ? 'error-5xx-before-execute'
      : call.memo === memo(2)
        ? call.op === 'submit'
          ? 'error-5xx-after-execute'
          : 'error-5xx-before-execute'
        : undefined;
  const inReview = () =>
    until(
      () => wf.query(reviewEvidenceQuery).catch(() => undefined),
      (e) => e?.state === 'MANUAL_REVIEW',
      60_000,
    );
  const ask = () =>
    world.app.inject({
      method: 'POST',
      url: `/v1/recoveries/${recoveryId}/request-collection`,
      headers: operator,
      payload: { reason: 'asked Saga' },
    });

  const first = ask();
  await inReview();
  const decided = await world.app.inject({
    method: 'POST',
    url: `/v1/reviews/${workflowId}/resolve`,
    headers: operator,
    payload: { decision: 'not_paid', reason: 'nothing arrived' },
  });
  expect(decided.statusCode).toBe(200);
  expect((await first).json()).toMatchObject({ state: 'OFFSETTING' });
  const {
    rows: [d1],
  } = await db.pool.query<{ id: string }>(
    `SELECT id FROM operator_decisions WHERE workflow_id = $1 AND kind = 'review.resolve'`,
    [workflowId],
  );

  const second = ask();
  const attempt2 = await inReview();
  await expectRefused(
    wf.executeUpdate(resolveReviewUpdate, { args: [{ decisionId: d1.id }] }),
    /was used already/,
  );
  expect(await wf.query(reviewEvidenceQuery)).toMatchObject({
    state: 'MANUAL_REVIEW',
    orderNo: attempt2!.orderNo,
  });
  expect(await postings(`recovery:${recoveryId}:collect:%`)).toEqual([]); // neither attempt booked

  const paid = await world.app.inject({
    method: 'POST',
    url: `/v1/reviews/${workflowId}/resolve`,
    headers: operator,
    payload: { decision: 'paid', reason: `gateway shows ${attempt2!.orderNo} SUCCESS` },
  });
  expect(paid.statusCode).toBe(200);
  expect((await second).json()).toMatchObject({ state: 'RECOVERED' });
}, 120_000);

it('a subscription: a forged loanDecided signal on an open loan voids nothing and posts nothing; the reservation waits for the loan', async () => {
  await world.app.inject({
    method: 'POST',
    url: '/v1/borrowers',
    headers: { ...admin, 'idempotency-key': 'st-b' },
    payload: { id: 'st-bor', name: 'Borrower', bankAccount: ACCOUNT },
  });
  const loan = await world.app.inject({
    method: 'POST',
    url: '/v1/loans',
    headers: { ...admin, 'idempotency-key': 'st-loan-open' },
    payload: {
      id: 'st-open',
      borrowerId: 'st-bor',
      principal: '1000.00',
      annualRate: '0.08',
      termMonths: 3,
      repaymentMethod: 'equal_installment',
      subscriptionDeadline: new Date(Date.now() + 3_600_000).toISOString(),
      feeRate: '0.01',
    },
  });
  expect(loan.statusCode).toBe(201);
  await world.app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'st-4' },
    payload: { id: 'sora', name: 'Sora' },
  });
  await fundInvestor(db, 'sora', 100_000n);
  const key = await world.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: admin,
    payload: { role: 'investor:sora' },
  });
  const investor = { authorization: `Bearer ${key.json<{ key: string }>().key}` };
  const sub = await world.app.inject({
    method: 'POST',
    url: '/v1/loans/st-open/subscriptions',
    headers: { ...investor, 'idempotency-key': 'st-sub-1' },
    payload: { investorId: 'sora', amount: '100.00' },
  });
  expect(sub.statusCode).toBe(201);
  const subscriptionId = sub.json<{ subscriptionId: string }>().subscriptionId;
  const workflowId = workflowIds.subscription(subscriptionId);
  await db.pool.query('DELETE FROM outbox WHERE workflow_id = $1', [workflowId]);

  for (const forged of ['expired', 'funded'] as const) {
    await world.env.client.workflow.signalWithStart('subscriptionWorkflow', {
      workflowId,
      taskQueue: TASK_QUEUE,
      args: [{ subscriptionId, loanId: 'st-open', investorId: 'sora' }],
      signal: 'loanDecided',
      signalArgs: [forged],
    });
  }
  await until(
    () => refusals(workflowId),
    (r) => r.length === 2,
    20_000,
  );
  const status = async () =>
    (await db.pool.query(`SELECT status FROM subscriptions WHERE id = $1`, [subscriptionId]))
      .rows[0].status as string;
  expect(await status()).toBe('RESERVED');
  expect(await postings(`subscription:${subscriptionId}:%`)).toEqual([
    `subscription:${subscriptionId}:hold`,
  ]); // no refund, no confirmation
  expect((await world.env.client.workflow.getHandle(workflowId).describe()).status.name).toBe(
    'RUNNING',
  );
  expect(await refusedMetric('loan.decided')).toBeGreaterThanOrEqual(2);

  // A cancel sent straight, naming no recorded decision: the reservation stays.
  await world.env.client.workflow
    .getHandle(workflowId)
    .signal(cancelSubscriptionSignal, { decisionId: MADE_UP });
  await world.env.client.workflow.getHandle(workflowId).signal('cancelSubscription');
  await until(
    () => refusals(workflowId),
    (r) => r.length === 4,
    20_000,
  );
  expect(await status()).toBe('RESERVED');
  expect(await postings(`subscription:${subscriptionId}:%`)).toEqual([
    `subscription:${subscriptionId}:hold`,
  ]);

  // The investor's own cancel (through the API) still works: the workflow kept waiting.
  const cancel = await world.app.inject({
    method: 'POST',
    url: `/v1/subscriptions/${subscriptionId}/cancel`,
    headers: { ...investor, 'idempotency-key': 'st-cancel-1' },
  });
  expect(cancel.statusCode).toBeLessThan(300);
  expect(await world.env.client.workflow.getHandle(workflowId).result()).toBe('CANCELLED');
}, 120_000);

it('a repayment not yet due: a forged collectNow signal collects nothing; the request through the API does', async () => {
  paymentsOnly = false; // the fixture funds investors without the gateway
  await createRepayingLoan(db.pool, {
    id: 'st-cn',
    holdings: [{ investorId: 'st-cn-inv', holdingMinor: 100_000n }],
    termMonths: 2,
    repaymentMethod: 'interest_then_principal',
  });
  const workflowId = workflowIds.repayment('st-cn', 1);
  await world.env.client.workflow.signalWithStart('repaymentWorkflow', {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [{ loanId: 'st-cn', installment: 1, queryPolicy: FAST }],
    signal: collectNowSignal,
    signalArgs: [{ decisionId: MADE_UP }],
  });
  const wf = world.env.client.workflow.getHandle(workflowId);
  await until(
    () => refusals(workflowId),
    (r) => r.length === 1,
    20_000,
  );
  await new Promise((r) => setTimeout(r, 1_000));
  expect(await wf.query(repaymentStateQuery)).toBe('DUE');
  const collections = () =>
    world.gateway.calls.filter((c) => c.op === 'submit' && c.orderNo.startsWith('rp-st-cn-1-'))
      .length;
  expect(collections()).toBe(0);

  const asked = await world.app.inject({
    method: 'POST',
    url: '/v1/loans/st-cn/installments/1/repayments',
    headers: admin,
  });
  expect(asked.statusCode).toBe(202);
  expect(await wf.result()).toBe('PAID_OUT');
  expect(collections()).toBe(1);
}, 120_000);
