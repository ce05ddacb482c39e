// Issue 26: an operator decision's row on real Postgres. It is recorded with its audit row in one
// transaction; it is taken once (a retried activity of the same run takes it again, another run
// never); a taken one cannot be given back, even by the app role; and one sent as an Update that
// nobody took within 15 minutes has expired, while a start's or a Signal's (which may arrive late,
// after an outage) has not.
import {
  recordDecision,
  takeDecision,
  type DecisionClaim,
  type DecisionKind,
} from '../../decisions/operator-decisions';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();

const claim = (decisionId: string, kind: DecisionKind, runId = 'run-1'): DecisionClaim => ({
  decisionId,
  workflowId: 'wf-1',
  runId,
  kind,
  seenInRun: false,
});
const record = (kind: DecisionKind) =>
  recordDecision(db.pool, {
    workflowId: 'wf-1',
    kind,
    actor: 'operator:k1',
    payload: { decision: 'paid' },
    reason: 'the bank shows it',
    // as the API records a paid at or below the threshold (no second operator needed)
    needsApproval: false,
  });
const ageBy = (id: string, minutes: number) =>
  db.pool.query(
    `UPDATE operator_decisions SET created_at = now() - make_interval(mins => $2) WHERE id = $1`,
    [id, minutes],
  );

it('is recorded with its audit row, taken once per run, and never given back', async () => {
  const id = await record('review.resolve');
  const { rows: audit } = await db.pool.query(
    `SELECT actor, action, details->>'decisionId' AS id FROM audit_log WHERE subject = 'wf-1'`,
  );
  expect(audit).toEqual([{ actor: 'operator:k1', action: 'decision.recorded', id }]);

  expect(await takeDecision(db.pool, claim(id, 'review.resolve'))).toMatchObject({
    ok: true,
    actor: 'operator:k1',
    reason: 'the bank shows it',
  });
  // the same run's retried activity
  expect(await takeDecision(db.pool, claim(id, 'review.resolve'))).toMatchObject({ ok: true });
  expect(await takeDecision(db.pool, claim(id, 'review.resolve', 'run-2'))).toEqual({
    ok: false,
    why: `decision ${id} was used already`,
  });
  expect(await takeDecision(db.pool, { ...claim(id, 'review.resolve'), seenInRun: true })).toEqual({
    ok: false,
    why: `decision ${id} was used already`,
  });

  const client = await db.pool.connect();
  try {
    await client.query('SET ROLE lending_app');
    await expect(
      client.query(`UPDATE operator_decisions SET taken_at = NULL, taken_by = NULL WHERE id = $1`, [
        id,
      ]),
    ).rejects.toThrow(/was taken already/);
    await expect(
      client.query(`UPDATE operator_decisions SET actor = 'operator:k2' WHERE id = $1`, [id]),
    ).rejects.toThrow(/permission denied/);
    await expect(
      client.query(`DELETE FROM operator_decisions WHERE id = $1`, [id]),
    ).rejects.toThrow(/permission denied/);
  } finally {
    await client.query('RESET ROLE');
    client.release();
  }
  const { rows: refused } = await db.pool.query(
    `SELECT why FROM operator_decision_refusals WHERE workflow_id = 'wf-1'`,
  );
  expect(refused).toHaveLength(2);
});

it("expires an Update's decision nobody took within 15 minutes, never a start's or a Signal's", async () => {
  const update = await record('exception.resolve');
  const fresh = await record('exception.resolve');
  const signal = await record('subscription.cancel');
  await ageBy(update, 16);
  await ageBy(fresh, 14);
  await ageBy(signal, 600);
  expect(await takeDecision(db.pool, claim(update, 'exception.resolve'))).toEqual({
    ok: false,
    why: `decision ${update} expired: it was not used within 15 minutes`,
  });
  expect(await takeDecision(db.pool, claim(fresh, 'exception.resolve'))).toMatchObject({
    ok: true,
  });
  expect(await takeDecision(db.pool, claim(signal, 'subscription.cancel'))).toMatchObject({
    ok: true,
  });
});
