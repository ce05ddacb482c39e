// Maker-checker on a review's `paid` (issue 16 item 2) on the real stack: above the threshold the
// decision is held (202 PENDING_APPROVAL, ApprovalState "Pending" on the workflow, nothing posted),
// the requester's own key cannot approve it, and a second operator's approval carries it out as
// the requester's decision; a rejection leaves the review open. The worst ordering: the gateway's
// verified notice settles the review while its approval waits, and the late approval is refused
// with nothing posted twice. A paid recorded without the API (no approval) is refused where it is
// taken.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { recordDecision } from '../../decisions/operator-decisions';
import { SearchAttributes } from '../../workflows/contracts/common';
import { resolveReviewUpdate } from '../../workflows/contracts/gateway-order';
import { expectLedgerConsistent } from '../ledger/helpers';
import { heldApproval, verdict } from '../helpers/approvals';
import { maybeRecordHistory } from '../helpers/stack';
import {
  admin,
  expectLedgerEqualsTruth,
  operatorHeaders,
  postNotice,
  until,
  useOutcomeWorld,
  withdrawalInReview,
} from '../outcomes/helpers';

// A `paid` above 100.00 waits for a second operator in this file.
const world = useOutcomeWorld({ poolSize: 20, paidApprovalAboveMinor: 10_000n });
const { db } = world;

afterEach(async () => {
  world.gateway.rule = () => undefined;
  await expectLedgerConsistent(db.pool);
  await expectLedgerEqualsTruth(db.pool, world.simulator);
});

const postingsOf = async (payoutId: string): Promise<string[]> =>
  (
    await db.pool.query(
      `SELECT idempotency_key FROM ledger_transactions WHERE idempotency_key LIKE $1 ORDER BY 1`,
      [`payout:${payoutId}:%`],
    )
  ).rows.map((r) => r.idempotency_key);

const approvalStateOf = async (workflowId: string) =>
  (await world.env.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(
    SearchAttributes.ApprovalState,
  );

const resolvePaid = (workflowId: string, operator: { authorization: string }) =>
  world.app.inject({
    method: 'POST',
    url: `/v1/reviews/${workflowId}/resolve`,
    headers: operator,
    payload: { decision: 'paid', reason: 'the bank statement shows it left' },
  });

/** A withdrawal `pa-<tag>-1` of `amountMinor` in review, and its paid held by a maker's key. */
async function paidHeld(tag: string, amountMinor: bigint) {
  const id = `pa-${tag}-1`;
  const investor = { id: `pa-${tag}`, name: tag, key: `pa-key-${tag}` };
  const { wf, evidence } = await withdrawalInReview(world, investor, id, amountMinor);
  const maker = await operatorHeaders(world.app);
  const approval = heldApproval(await resolvePaid(wf.workflowId, maker));
  return { id, wf, evidence, maker, approval };
}

it('a paid at or below the threshold takes effect at once, with no approval', async () => {
  const { wf } = await withdrawalInReview(
    world,
    { id: 'pa-small', name: 'Small', key: 'pa-1' },
    'pa-small-1',
    9_900n,
  );
  const res = await resolvePaid(wf.workflowId, await operatorHeaders(world.app));
  expect(res.statusCode).toBe(200);
  expect(res.json()).toMatchObject({ state: 'SUCCEEDED' });
  const { rows } = await db.pool.query('SELECT 1 FROM approvals WHERE workflow_id = $1', [
    wf.workflowId,
  ]);
  expect(rows).toHaveLength(0);
}, 120_000);

it('a paid above the threshold waits for a second operator: held, not approvable by its own key, then carried out as the requester’s', async () => {
  const { id, wf, maker, approval } = await paidHeld('big', 50_000n);
  expect(approval).toMatchObject({ action: 'review.paid', amount: '500.00', status: 'pending' });
  // A retry of the same request (no Idempotency-Key) is the same approval, not a second one.
  expect(heldApproval(await resolvePaid(wf.workflowId, maker)).id).toBe(approval.id);
  await until(
    () => approvalStateOf(wf.workflowId),
    (s) => s === 'Pending',
    20_000,
  );
  const listed = await world.app.inject({ method: 'GET', url: '/v1/approvals', headers: maker });
  expect(listed.json()).toEqual(
    expect.arrayContaining([expect.objectContaining({ id: approval.id, amount: '500.00' })]),
  );
  // Nothing is paid while it waits: only the hold is booked.
  expect(await postingsOf(id)).toEqual([`payout:${id}:hold`]);

  const own = await verdict(world.app, approval.id, 'approve', maker);
  expect(own.statusCode).toBe(403);
  expect(own.json().error.code).toBe('APPROVAL_OWN_REQUEST');
  expect(await postingsOf(id)).toEqual([`payout:${id}:hold`]);

  const checker = await operatorHeaders(world.app);
  const approved = await verdict(world.app, approval.id, 'approve', checker);
  expect(approved.statusCode).toBe(200);
  expect(approved.json()).toMatchObject({
    approval: { id: approval.id, status: 'approved' },
    result: { workflowId: wf.workflowId, state: 'SUCCEEDED' },
  });
  expect(await wf.result()).toBe('SUCCEEDED');
  expect(await postingsOf(id)).toEqual([`payout:${id}:hold`, `payout:${id}:post`]);
  const { rows: posted } = await db.pool.query(
    `SELECT metadata FROM ledger_transactions WHERE idempotency_key = $1`,
    [`payout:${id}:post`],
  );
  expect(posted[0].metadata).toMatchObject({
    decision: 'paid',
    decidedBy: approval.requestedBy,
  });
  expect(await approvalStateOf(wf.workflowId)).toBe('Approved');
  const { rows: audit } = await db.pool.query(
    `SELECT actor, action FROM audit_log WHERE details->>'approvalId' = $1 ORDER BY id`,
    [approval.id],
  );
  expect(audit.map((r) => r.action)).toEqual([
    'approval.requested',
    'decision.recorded',
    'approval.approved',
  ]);
  expect(audit[0].actor).toBe(approval.requestedBy);
  expect(audit[2].actor).not.toBe(approval.requestedBy);
  // decided once
  expect((await verdict(world.app, approval.id, 'reject')).statusCode).toBe(409);
  await maybeRecordHistory(wf, 'payoutWorkflow-paid-after-approval');
}, 120_000);

it('a rejected paid leaves the review open, nothing posted, for a decision asked again', async () => {
  const { id, wf, maker, approval } = await paidHeld('rej', 20_000n);
  const rejected = await verdict(world.app, approval.id, 'reject');
  expect(rejected.statusCode).toBe(200);
  expect(rejected.json()).toMatchObject({ approval: { status: 'rejected' } });
  await until(
    () => approvalStateOf(wf.workflowId),
    (s) => s === 'Rejected',
    20_000,
  );
  expect((await verdict(world.app, approval.id, 'approve')).json().error.code).toBe(
    'APPROVAL_DECIDED',
  );
  expect(await postingsOf(id)).toEqual([`payout:${id}:hold`]);
  // Still in review: asked again, and approved this time, it is paid once.
  const again = heldApproval(await resolvePaid(wf.workflowId, maker));
  expect(again.id).not.toBe(approval.id);
  expect((await verdict(world.app, again.id, 'approve')).statusCode).toBe(200);
  expect(await wf.result()).toBe('SUCCEEDED');
  expect(await postingsOf(id)).toEqual([`payout:${id}:hold`, `payout:${id}:post`]);
}, 120_000);

it('a verified notice settles the review while its approval waits: the late approval is refused and nothing posts twice', async () => {
  const { id, wf, evidence, approval } = await paidHeld('race', 30_000n);
  const notice = await postNotice(world.app, {
    orderNo: evidence.orderNo,
    kind: 'PAYOUT',
    amountMinor: 30_000n,
    status: 'SUCCESS',
  });
  expect(notice.statusCode).toBe(200);
  expect(await wf.result()).toBe('SUCCEEDED');
  const late = await verdict(world.app, approval.id, 'approve');
  expect(late.statusCode).toBe(409);
  expect(late.json().error.code).toBe('REVIEW_REFUSED');
  expect(await postingsOf(id)).toEqual([`payout:${id}:hold`, `payout:${id}:post`]);
  const { rows: posted } = await db.pool.query(
    `SELECT metadata FROM ledger_transactions WHERE idempotency_key = $1`,
    [`payout:${id}:post`],
  );
  expect(posted[0].metadata).toMatchObject({ decidedBy: `gateway:notice:${notice.notifyId}` });
  const audit = (await world.app.inject({ method: 'GET', url: '/v1/audit', headers: admin })).json<{
    entries: { action: string; subject: string }[];
  }>();
  expect(
    audit.entries.filter((e) => e.action === 'review.resolved' && e.subject === wf.workflowId),
  ).toHaveLength(1);
}, 120_000);

it('a paid recorded straight into the table (no API, no approval) is refused by the workflow, nothing posted', async () => {
  const id = 'pa-direct-1';
  const { wf } = await withdrawalInReview(
    world,
    { id: 'pa-direct', name: 'Direct', key: 'pa-key-direct' },
    id,
    50_000n,
  );
  const bypass = await recordDecision(db.pool, {
    workflowId: wf.workflowId,
    kind: 'review.resolve',
    actor: 'operator:insider',
    payload: { decision: 'paid' },
    reason: 'nobody checks the table',
  });
  await expect(
    wf.executeUpdate(resolveReviewUpdate, { args: [{ decisionId: bypass }] }),
  ).rejects.toThrow(WorkflowUpdateFailedError);
  expect(await postingsOf(id)).toEqual([`payout:${id}:hold`]);
  const { rows: refused } = await db.pool.query(
    `SELECT why FROM operator_decision_refusals WHERE decision_id = $1`,
    [bypass],
  );
  expect(refused).toEqual([{ why: expect.stringMatching(/needs a second operator's approval/) }]);
  // The held path still pays it: asked through the API, approved by a second operator.
  const approval = heldApproval(await resolvePaid(wf.workflowId, await operatorHeaders(world.app)));
  expect((await verdict(world.app, approval.id, 'approve')).statusCode).toBe(200);
  expect(await wf.result()).toBe('SUCCEEDED');
  expect(await postingsOf(id)).toEqual([`payout:${id}:hold`, `payout:${id}:post`]);
}, 120_000);
