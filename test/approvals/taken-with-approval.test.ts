// Maker-checker where the decision is taken (issue 16 item 2, migration 0035): takeDecision
// refuses a decision that needs a second operator (a write-off, an exception's adjust or recover,
// a review's paid the API did not let through alone) unless an approval of the same requester's,
// for the same workflow, approved by another key, carried it out. Refusals are recorded as any
// other.
import { randomUUID } from 'node:crypto';
import {
  recordDecision,
  takeDecision,
  type DecisionKind,
  type NewDecision,
} from '../../decisions/operator-decisions';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();

const record = (
  kind: DecisionKind,
  payload: Record<string, unknown>,
  more?: Partial<NewDecision>,
) =>
  recordDecision(db.pool, {
    workflowId: 'wf-mc',
    kind,
    actor: 'operator:maker',
    payload,
    reason: 'the bank shows it',
    ...more,
  });
const take = (decisionId: string, kind: DecisionKind) =>
  takeDecision(db.pool, {
    decisionId,
    workflowId: 'wf-mc',
    runId: 'run-1',
    kind,
    seenInRun: false,
  });
/** An approval of `requestedBy`'s, approved by `decidedBy`, whose effect is the decision. */
const approvedAs = (
  effectId: string,
  requestedBy: string,
  decidedBy: string,
  workflowId = 'wf-mc',
) =>
  db.pool.query(
    `INSERT INTO approvals (id, workflow_id, action, payload, reason, requested_by, status, decided_by, decided_at, effect_id)
     VALUES ($1, $2, 'recovery.write_off', '{}', 'r', $3, 'approved', $4, now(), $5)`,
    [`apr-${randomUUID()}`, workflowId, requestedBy, decidedBy, effectId],
  );
const refusals = async (id: string) =>
  (await db.pool.query(`SELECT why FROM operator_decision_refusals WHERE decision_id = $1`, [id]))
    .rows;

it('refuses a write-off, an adjust, a recover and an unvouched paid recorded with no approval', async () => {
  const writeOff = await record('recovery.write_off', {});
  const adjust = await record('exception.resolve', { exceptionId: '1', action: 'adjust' });
  const recover = await record('exception.resolve', { exceptionId: '1', action: 'recover' });
  const paid = await record('review.resolve', { decision: 'paid' });
  const saidHeld = await record('review.resolve', { decision: 'paid' }, { needsApproval: true });
  for (const [id, kind] of [
    [writeOff, 'recovery.write_off'],
    [adjust, 'exception.resolve'],
    [recover, 'exception.resolve'],
    [paid, 'review.resolve'],
    [saidHeld, 'review.resolve'],
  ] as const) {
    expect(await take(id, kind)).toEqual({
      ok: false,
      why: `decision ${id} needs a second operator's approval, and no approval by another key carried it out`,
    });
    expect(await refusals(id)).toHaveLength(1);
  }
  const { rows } = await db.pool.query(
    `SELECT count(*)::int AS n FROM operator_decisions WHERE workflow_id = 'wf-mc' AND taken_at IS NOT NULL`,
  );
  expect(rows[0].n).toBe(0);
});

it('lets alone what needs no second operator: an accept, a not_paid, a paid the API let through', async () => {
  const accept = await record('exception.resolve', { exceptionId: '1', action: 'accept' });
  const notPaid = await record('review.resolve', { decision: 'not_paid' });
  const small = await record('review.resolve', { decision: 'paid' }, { needsApproval: false });
  expect(await take(accept, 'exception.resolve')).toMatchObject({ ok: true });
  expect(await take(notPaid, 'review.resolve')).toMatchObject({ ok: true });
  expect(await take(small, 'review.resolve')).toMatchObject({ ok: true });
});

it("takes the effect of an approval another key approved, and nothing else's", async () => {
  const approved = await record('recovery.write_off', {});
  await approvedAs(approved, 'operator:maker', 'operator:checker');
  expect(await take(approved, 'recovery.write_off')).toMatchObject({
    ok: true,
    actor: 'operator:maker',
  });
  // An approval of somebody else's request, or for another workflow, lets nothing through.
  const othersApproval = await record('recovery.write_off', {});
  await approvedAs(othersApproval, 'operator:someone', 'operator:checker');
  const otherWorkflow = await record('recovery.write_off', {});
  await approvedAs(otherWorkflow, 'operator:maker', 'operator:checker', 'wf-other');
  expect(await take(othersApproval, 'recovery.write_off')).toMatchObject({ ok: false });
  expect(await take(otherWorkflow, 'recovery.write_off')).toMatchObject({ ok: false });
});
