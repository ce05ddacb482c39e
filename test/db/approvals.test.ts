// Maker-checker rows (decisions/approvals.ts, migration 0025) on the real Postgres: a request and
// its decision each write an audit row; the requester's own key, a second decision and an
// approval after a rejection are refused, by the code and by the table itself.
import {
  decideApproval,
  pendingApprovals,
  requestApproval,
  requestApprovalIn,
  type CarryOut,
} from '../../decisions/approvals';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();

/** A carry-out that writes a row in the approving transaction, so its commit can be checked. */
let carried = 0;
const effect: CarryOut = async (tx, a) => {
  carried += 1;
  await tx.query(`INSERT INTO smoke_runs (workflow_id, message) VALUES ($1, 'carried out')`, [
    `fx-${a.id}`,
  ]);
  return `fx-${a.id}`;
};

const ask = (workflowId: string): Promise<string> =>
  requestApproval(db.pool, {
    workflowId,
    action: 'recovery.write_off',
    amountMinor: 12_345n,
    payload: { recoveryId: workflowId },
    reason: 'borrower unreachable',
    requestedBy: 'operator:key-a',
    requestedHolder: 'alice@example.com',
    requestId: 'req-1',
  });

async function auditOf(approvalId: string): Promise<{ actor: string; action: string }[]> {
  const { rows } = await db.pool.query(
    `SELECT actor, action FROM audit_log WHERE details->>'approvalId' = $1 ORDER BY id`,
    [approvalId],
  );
  return rows;
}

it('lists a request as pending, and audits the request and the decision', async () => {
  const id = await ask('recovery-1');
  const pending = await pendingApprovals(db.pool);
  expect(pending.find((a) => a.id === id)).toMatchObject({
    workflowId: 'recovery-1',
    action: 'recovery.write_off',
    amountMinor: 12_345n,
    requestedBy: 'operator:key-a',
    status: 'pending',
  });
  const approve = {
    approvalId: id,
    verdict: 'approve' as const,
    actor: 'operator:key-b',
    holder: 'bob@example.com',
  };
  const before = carried;
  const decided = await decideApproval(db.pool, approve, effect);
  expect(decided).toMatchObject({
    ok: true,
    approval: { status: 'approved', effectId: `fx-${id}` },
  });
  // A retried approval answers with the same effect and carries nothing out again.
  expect(await decideApproval(db.pool, approve, effect)).toMatchObject({
    approval: { effectId: `fx-${id}` },
  });
  expect(carried).toBe(before + 1);
  expect((await pendingApprovals(db.pool)).map((a) => a.id)).not.toContain(id);
  expect(await auditOf(id)).toEqual([
    { actor: 'operator:key-a', action: 'approval.requested' },
    { actor: 'operator:key-b', action: 'approval.approved' },
  ]);
});

it("refuses the requester's own key, and leaves the approval pending", async () => {
  const id = await ask('recovery-2');
  const own = await decideApproval(
    db.pool,
    {
      approvalId: id,
      verdict: 'approve',
      actor: 'operator:key-a',
      holder: 'alice@example.com',
    },
    effect,
  );
  expect(own).toEqual({ ok: false, code: 'approval_own_request' });
  expect((await pendingApprovals(db.pool)).map((a) => a.id)).toContain(id);
  // The table refuses it too, whoever writes.
  await expect(
    db.pool.query(
      `UPDATE approvals SET status = 'approved', decided_by = requested_by, decided_at = now()
       WHERE id = $1`,
      [id],
    ),
  ).rejects.toThrow(/check constraint/);
});

it('decides once: approve after reject and a second approver are refused', async () => {
  const rejected = await ask('recovery-3');
  const no = {
    approvalId: rejected,
    verdict: 'reject' as const,
    actor: 'operator:key-b',
    holder: 'bob@example.com',
  };
  expect(await decideApproval(db.pool, no, effect)).toMatchObject({ ok: true });
  // The same rejection again (a retried request) gets the same answer and no second audit row.
  expect(await decideApproval(db.pool, no, effect)).toMatchObject({
    approval: { status: 'rejected' },
  });
  expect(await decideApproval(db.pool, { ...no, verdict: 'approve' }, effect)).toEqual({
    ok: false,
    code: 'approval_decided',
  });
  expect(
    await decideApproval(
      db.pool,
      { ...no, actor: 'operator:key-c', holder: 'carol@example.com' },
      effect,
    ),
  ).toEqual({
    ok: false,
    code: 'approval_decided',
  });
  expect((await auditOf(rejected)).map((r) => r.action)).toEqual([
    'approval.requested',
    'approval.rejected',
  ]);
  await expect(
    db.pool.query(`UPDATE approvals SET status = 'approved' WHERE id = $1`, [rejected]),
  ).rejects.toThrow(/was rejected already/);
});

it('answers an unknown id as not found', async () => {
  expect(
    await decideApproval(
      db.pool,
      {
        approvalId: 'apr-00000000-0000-0000-0000-000000000000',
        verdict: 'approve',
        actor: 'operator:key-b',
        holder: 'bob@example.com',
      },
      effect,
    ),
  ).toEqual({ ok: false, code: 'approval_not_found' });
});

it('never commits an approval without its effect: a carry-out that fails leaves it pending, unaudited', async () => {
  const id = await ask('recovery-4');
  const failing: CarryOut = async (tx) => {
    await tx.query(`INSERT INTO smoke_runs (workflow_id, message) VALUES ('fx-lost', 'half done')`);
    throw new Error('the workflow decision could not be recorded');
  };
  await expect(
    decideApproval(
      db.pool,
      { approvalId: id, verdict: 'approve', actor: 'operator:key-b', holder: 'bob@example.com' },
      failing,
    ),
  ).rejects.toThrow(/could not be recorded/);
  expect((await pendingApprovals(db.pool)).map((a) => a.id)).toContain(id);
  expect((await auditOf(id)).map((r) => r.action)).toEqual(['approval.requested']);
  expect(
    (await db.pool.query(`SELECT 1 FROM smoke_runs WHERE workflow_id = 'fx-lost'`)).rowCount,
  ).toBe(0);
  // Rejected, nothing is carried out at all.
  const before = carried;
  await decideApproval(
    db.pool,
    { approvalId: id, verdict: 'reject', actor: 'operator:key-b', holder: 'bob@example.com' },
    effect,
  );
  expect(carried).toBe(before);
});

const outboxOf = async (workflowIds: string[]) =>
  (
    await db.pool.query(
      `SELECT action, workflow_type, workflow_id, signal_name, args, drop_if_closed FROM outbox
       WHERE workflow_id = ANY($1) ORDER BY id`,
      [workflowIds],
    )
  ).rows;

it('tells Temporal through the outbox in its own transactions: the approval workflow started with the request, the verdict with the decision; a refused decision writes none', async () => {
  const id = await ask('recovery-ob');
  const mine = ['recovery-ob', `approval-${id}`];
  expect(await outboxOf(mine)).toEqual([
    {
      action: 'start',
      workflow_type: 'approvalWorkflow',
      workflow_id: `approval-${id}`,
      signal_name: null,
      args: null,
      drop_if_closed: false,
    },
    // a write-off's recovery runs while it waits: it shows the state too, display only
    {
      action: 'signal',
      workflow_type: null,
      workflow_id: 'recovery-ob',
      signal_name: 'approvalState',
      args: [{ approvalId: id, status: 'pending' }],
      drop_if_closed: true,
    },
  ]);
  // the requester's own key: refused, nothing enqueued
  await decideApproval(
    db.pool,
    { approvalId: id, verdict: 'reject', actor: 'operator:key-a', holder: 'alice@example.com' },
    effect,
  );
  expect(await outboxOf(mine)).toHaveLength(2);
  await decideApproval(
    db.pool,
    { approvalId: id, verdict: 'reject', actor: 'operator:key-b', holder: 'bob@example.com' },
    effect,
  );
  expect((await outboxOf(mine)).slice(2)).toEqual([
    {
      action: 'signal_with_start',
      workflow_type: 'approvalWorkflow',
      workflow_id: `approval-${id}`,
      signal_name: 'approvalState',
      args: [{ approvalId: id, status: 'rejected' }],
      drop_if_closed: false,
    },
    {
      action: 'signal',
      workflow_type: null,
      workflow_id: 'recovery-ob',
      signal_name: 'approvalState',
      args: [{ approvalId: id, status: 'rejected' }],
      drop_if_closed: true,
    },
  ]);
  // the same verdict again (a retry): nothing more
  await decideApproval(
    db.pool,
    { approvalId: id, verdict: 'reject', actor: 'operator:key-b', holder: 'bob@example.com' },
    effect,
  );
  expect(await outboxOf(mine)).toHaveLength(4);
});

it('the approval workflow’s start is written in the request’s transaction and rolls back with it', async () => {
  const tx = await db.pool.connect();
  let id = '';
  try {
    await tx.query('BEGIN');
    id = await requestApprovalIn(tx, {
      workflowId: 'payout-run-rb-1',
      action: 'payout_run.start',
      payload: { loanId: 'rb', installment: 1 },
      reason: 'by hand',
      requestedBy: 'operator:key-a',
      requestedHolder: 'alice@example.com',
    });
    const { rows } = await tx.query('SELECT action FROM outbox WHERE workflow_id = $1', [
      `approval-${id}`,
    ]);
    expect(rows).toEqual([{ action: 'start' }]);
    await tx.query('ROLLBACK');
  } finally {
    tx.release();
  }
  expect(await outboxOf([`approval-${id}`])).toEqual([]);
});

it("refuses another key of the requester's holder (the same person), by the code and the table", async () => {
  const id = await ask('recovery-holder');
  const sameOne = { approvalId: id, verdict: 'approve' as const, actor: 'operator:key-a2' };
  expect(
    await decideApproval(db.pool, { ...sameOne, holder: 'alice@example.com' }, effect),
  ).toEqual({ ok: false, code: 'approval_same_person' });
  expect((await pendingApprovals(db.pool)).map((a) => a.id)).toContain(id);
  await expect(
    db.pool.query(
      `UPDATE approvals SET status = 'approved', decided_by = 'operator:key-a2', decided_at = now(),
         decided_holder = requested_holder WHERE id = $1`,
      [id],
    ),
  ).rejects.toThrow(/check constraint/);
  // Another person approves it; both holders are on the row and the audit.
  expect(
    await decideApproval(db.pool, { ...sameOne, holder: 'bob@example.com' }, effect),
  ).toMatchObject({
    ok: true,
    approval: { requestedHolder: 'alice@example.com', decidedHolder: 'bob@example.com' },
  });
  const { rows } = await db.pool.query(
    `SELECT details->>'holder' AS holder FROM audit_log WHERE details->>'approvalId' = $1 ORDER BY id`,
    [id],
  );
  expect(rows.map((r) => r.holder)).toEqual(['alice@example.com', 'bob@example.com']);
});
