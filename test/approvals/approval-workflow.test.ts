// Every held approval has its own workflow, `approval-{id}` (issue 16 item 2): found in Temporal's
// visibility by ApprovalState = 'Pending' even when the decision's own workflow starts only once
// approved (a manual recovery, a manual payout run), then Approved or Rejected and completed. It is
// started and told its verdict through the outbox, in the transactions that hold and decide the
// approval: with no dispatcher the rows are there; dispatched in the worst orders (the verdict
// before the start, the verdict twice) it still ends once, as decided.
import { WorkflowNotFoundError } from '@temporalio/client';
import { buildApp } from '../../api/app';
import { workflowIds } from '../../ids/workflow-ids';
import { enqueueSignal } from '../../outbox/enqueue';
import { approvalStateSignal } from '../../workflows/contracts/approvals';
import { SearchAttributes } from '../../workflows/contracts/common';
import { ADMIN_KEY } from '../api/helpers';
import { heldApproval, verdict, type HeldApproval } from '../helpers/approvals';
import { drainOutbox, maybeRecordHistory } from '../helpers/stack';
import { admin, operatorHeaders, until, useOutcomeWorld } from '../outcomes/helpers';

const world = useOutcomeWorld();
const { db } = world;

const handleOf = (approvalId: string) =>
  world.env.client.workflow.getHandle(workflowIds.approval(approvalId));
const approvalStateOf = async (approvalId: string) =>
  (await handleOf(approvalId).describe()).typedSearchAttributes.get(SearchAttributes.ApprovalState);

/** The approval workflows Temporal's visibility lists with this ApprovalState. */
async function listed(state: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of world.env.client.workflow.list({
    query: `WorkflowType = 'approvalWorkflow' AND ApprovalState = '${state}'`,
  }))
    ids.push(wf.workflowId);
  return ids;
}

const untilListed = (approvalId: string, state: string) =>
  until(
    () => listed(state),
    (ids) => ids.includes(workflowIds.approval(approvalId)),
    20_000,
  );

const outboxRowsOf = async (workflowId: string) =>
  (
    await db.pool.query(
      `SELECT action, workflow_type, signal_name, payload, args FROM outbox
       WHERE workflow_id = $1 ORDER BY id`,
      [workflowId],
    )
  ).rows;

let parties = 0;
/** A manual recovery of `amount` from a new investor, held by a maker's key. */
async function recoveryHeld(amount: string): Promise<HeldApproval> {
  const investorId = `aw-inv-${++parties}`;
  const created = await world.app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': `aw-${investorId}` },
    payload: { id: investorId, name: 'Approval Workflow' },
  });
  expect(created.statusCode).toBe(201);
  return heldApproval(
    await world.app.inject({
      method: 'POST',
      url: '/v1/recoveries',
      headers: {
        ...(await operatorHeaders(world.app)),
        'idempotency-key': `aw-open-${investorId}`,
      },
      payload: { investorId, amount, reason: 'interest computed twice in March' },
    }),
  );
}

/** A manual payout run of a distributed installment (rows only: the run itself is not run). */
async function payoutRunHeld(loanId: string): Promise<HeldApproval> {
  const borrowerId = `${loanId}-b`;
  const created = await world.app.inject({
    method: 'POST',
    url: '/v1/borrowers',
    headers: { ...admin, 'idempotency-key': `aw-${borrowerId}` },
    payload: { id: borrowerId, name: 'Borrower' },
  });
  expect(created.statusCode).toBe(201);
  await db.pool.query(
    `INSERT INTO loans (id, borrower_id, currency, principal_minor, remaining_minor, annual_rate,
       term_months, repayment_method, subscription_deadline, status, funded_at)
     VALUES ($1, $2, 'CNY', 100000, 0, 0.08, 1, 'interest_then_principal', now(), 'REPAYING', now())`,
    [loanId, borrowerId],
  );
  await db.pool.query(
    `INSERT INTO loan_installments (loan_id, n, principal_minor, interest_minor, status)
     VALUES ($1, 1, 100000, 667, 'DISTRIBUTED')`,
    [loanId],
  );
  return heldApproval(
    await world.app.inject({
      method: 'POST',
      url: '/v1/payout-runs',
      headers: await operatorHeaders(world.app),
      payload: { loanId, installment: 1 },
    }),
  );
}

/** Drains the outbox, minus the payout runs approvals start (payout-run-crash.test runs them). */
async function dispatch(): Promise<void> {
  await db.pool.query(`DELETE FROM outbox WHERE workflow_type = 'payoutRunWorkflow'`);
  await drainOutbox(world.dispatcher, db);
}

it('a manual recovery held: its approval workflow is listed Pending with a readable memo, then Approved and completed', async () => {
  const approval = await recoveryHeld('12.34');
  // The start committed with the approval: the row is there, nothing is in Temporal yet.
  expect(await outboxRowsOf(workflowIds.approval(approval.id))).toEqual([
    {
      action: 'start',
      workflow_type: 'approvalWorkflow',
      signal_name: null,
      payload: {
        approvalId: approval.id,
        action: 'recovery.open',
        targetWorkflowId: approval.workflowId,
        amount: '12.34',
        currency: 'CNY',
        requestedBy: approval.requestedBy,
        reason: 'interest computed twice in March',
      },
      args: null,
    },
  ]);
  await expect(handleOf(approval.id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  // The recovery itself does not run while it waits: nothing is told to it.
  expect(await outboxRowsOf(approval.workflowId)).toEqual([]);

  await dispatch();
  await untilListed(approval.id, 'Pending');
  const described = await handleOf(approval.id).describe();
  expect(described.status.name).toBe('RUNNING');
  expect(described.memo).toEqual({
    action: 'recovery.open',
    workflowId: approval.workflowId,
    amount: '12.34 CNY',
    requestedBy: approval.requestedBy,
    reason: 'interest computed twice in March',
  });
  const view = (
    await world.app.inject({ method: 'GET', url: '/v1/approvals', headers: admin })
  ).json<{ id: string; approvalWorkflowId: string }[]>();
  expect(view.find((a) => a.id === approval.id)?.approvalWorkflowId).toBe(
    workflowIds.approval(approval.id),
  );

  expect((await verdict(world.app, approval.id, 'approve')).statusCode).toBe(200);
  // The verdict committed with the approval: in the outbox until dispatched.
  expect(await approvalStateOf(approval.id)).toBe('Pending');
  expect((await outboxRowsOf(workflowIds.approval(approval.id))).map((r) => r.action)).toEqual([
    'signal_with_start',
  ]);
  await dispatch();
  expect(await handleOf(approval.id).result()).toBe('approved');
  expect(await approvalStateOf(approval.id)).toBe('Approved');
  await untilListed(approval.id, 'Approved');
  expect(await listed('Pending')).not.toContain(workflowIds.approval(approval.id));
  await maybeRecordHistory(handleOf(approval.id), 'approvalWorkflow-approved');
}, 120_000);

it('a manual payout run held: Pending, then Rejected and completed, and no run starts', async () => {
  const approval = await payoutRunHeld('aw-loan-1');
  expect(approval).toMatchObject({ action: 'payout_run.start', amount: null });
  await dispatch();
  await untilListed(approval.id, 'Pending');
  expect((await handleOf(approval.id).describe()).memo).toMatchObject({
    action: 'payout_run.start',
    workflowId: approval.workflowId,
  });
  expect((await verdict(world.app, approval.id, 'reject')).statusCode).toBe(200);
  await dispatch();
  expect(await handleOf(approval.id).result()).toBe('rejected');
  await untilListed(approval.id, 'Rejected');
  await expect(
    world.env.client.workflow.getHandle(approval.workflowId).describe(),
  ).rejects.toBeInstanceOf(WorkflowNotFoundError);
  await maybeRecordHistory(handleOf(approval.id), 'approvalWorkflow-rejected');
}, 120_000);

it('a manual payout run approved shows Approved on its approval workflow', async () => {
  const approval = await payoutRunHeld('aw-loan-2');
  await dispatch();
  await untilListed(approval.id, 'Pending');
  expect((await verdict(world.app, approval.id, 'approve')).statusCode).toBe(200);
  await dispatch();
  expect(await handleOf(approval.id).result()).toBe('approved');
  await untilListed(approval.id, 'Approved');
}, 120_000);

it('the verdict dispatched before the start, and delivered twice, still ends once as decided', async () => {
  const approval = await recoveryHeld('5.00');
  const id = workflowIds.approval(approval.id);
  // The start row is held back: the verdict reaches Temporal first.
  await db.pool.query(
    `UPDATE outbox SET not_before = now() + interval '1 hour' WHERE workflow_id = $1`,
    [id],
  );
  expect((await verdict(world.app, approval.id, 'reject')).statusCode).toBe(200);
  const [verdictRow] = (
    await db.pool.query(
      `SELECT action, workflow_type, workflow_id, signal_name, payload, args FROM outbox
       WHERE workflow_id = $1 AND action = 'signal_with_start'`,
      [id],
    )
  ).rows;
  expect(verdictRow.args).toEqual([{ approvalId: approval.id, status: 'rejected' }]);
  await dispatch();
  expect(await handleOf(approval.id).result()).toBe('rejected');
  expect(await approvalStateOf(approval.id)).toBe('Rejected');
  expect((await handleOf(approval.id).describe()).memo).toMatchObject({ amount: '5.00 CNY' });

  // The late start, then the same verdict again: both delivered, neither runs it again.
  await db.pool.query(`UPDATE outbox SET not_before = now() WHERE workflow_id = $1`, [id]);
  await db.pool.query(
    `INSERT INTO outbox (action, workflow_type, workflow_id, signal_name, payload, args)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      verdictRow.action,
      verdictRow.workflow_type,
      id,
      verdictRow.signal_name,
      verdictRow.payload,
      JSON.stringify(verdictRow.args),
    ],
  );
  await dispatch();
  expect(await outboxRowsOf(id)).toEqual([]);
  const runs: string[] = [];
  for await (const wf of world.env.client.workflow.list({ query: `WorkflowId = '${id}'` }))
    runs.push(wf.status.name);
  expect(runs).toEqual(['COMPLETED']);
  expect(await approvalStateOf(approval.id)).toBe('Rejected');
  const { rows: dead } = await db.pool.query(
    'SELECT 1 FROM outbox_dead_letters WHERE workflow_id = $1',
    [id],
  );
  expect(dead).toEqual([]);
  await maybeRecordHistory(handleOf(approval.id), 'approvalWorkflow-verdict-before-start');
}, 120_000);

it('an ApprovalState for a workflow that has ended is dropped, not dead-lettered; a plain signal still is', async () => {
  const approval = await recoveryHeld('1.00');
  await dispatch();
  await verdict(world.app, approval.id, 'reject');
  await dispatch();
  await handleOf(approval.id).result();
  const ended = workflowIds.approval(approval.id);
  const dropped = world.dispatcher.stats.dropped;
  await enqueueSignal(
    db.pool,
    ended,
    approvalStateSignal,
    [{ approvalId: 'x', status: 'pending' }],
    {
      dropIfClosed: true,
    },
  );
  await enqueueSignal(db.pool, ended, approvalStateSignal, [
    { approvalId: 'y', status: 'pending' },
  ]);
  await dispatch();
  expect(world.dispatcher.stats.dropped).toBe(dropped + 1);
  const { rows: dead } = await db.pool.query(
    `SELECT args FROM outbox_dead_letters WHERE workflow_id = $1`,
    [ended],
  );
  expect(dead).toEqual([{ args: [{ approvalId: 'y', status: 'pending' }] }]);
}, 120_000);

it('a write-off held while the API cannot reach Temporal still shows on its recovery: Pending, then Rejected, through the outbox', async () => {
  const opened = await recoveryHeld('3.00');
  expect((await verdict(world.app, opened.id, 'approve')).statusCode).toBe(200);
  await dispatch();
  const recovery = world.env.client.workflow.getHandle(opened.workflowId);
  const stateOf = async () =>
    (await recovery.describe()).typedSearchAttributes.get(SearchAttributes.ApprovalState);
  expect((await recovery.describe()).status.name).toBe('RUNNING');
  // An API with no Temporal: its prompt signal after the commit is lost, as in an outage.
  const cut = await buildApp({ pool: db.pool, adminApiKey: ADMIN_KEY });
  try {
    const held = heldApproval(
      await cut.inject({
        method: 'POST',
        url: `/v1/recoveries/${opened.workflowId.replace(/^recovery-/, '')}/write-off`,
        headers: await operatorHeaders(cut),
        payload: { reason: 'the investor cannot be reached' },
      }),
    );
    expect(held.action).toBe('recovery.write_off');
    expect(await stateOf()).toBeUndefined();
    await dispatch();
    await until(stateOf, (s) => s === 'Pending', 20_000);
    expect((await verdict(cut, held.id, 'reject')).statusCode).toBe(200);
    expect(await stateOf()).toBe('Pending');
    await dispatch();
    await until(stateOf, (s) => s === 'Rejected', 20_000);
    expect(await handleOf(held.id).result()).toBe('rejected');
  } finally {
    await cut.close();
  }
}, 120_000);
