// Issue 16, item 7: operator decisions honour Idempotency-Key. A repeat with the same key replays
// the first answer; a retry after a lost answer takes the same decision again, and Temporal
// deduplicates the Update by its id, so it gets the first answer instead of a 409 and nothing is
// done twice; a burst of the same keyed request, more than the pool holds, waits on nothing held.
import type { QueryPolicy } from '../../workflows/contracts/gateway-order';
import type { LightMyRequestResponse } from 'fastify';
import { heldApproval } from '../helpers/approvals';
import { admin, openRecoveryByHand, operatorHeaders, useOutcomeWorld } from '../outcomes/helpers';

const POOL = 6;
const world = useOutcomeWorld({ poolSize: POOL });
const { db } = world;
const FAST: QueryPolicy = { attempts: 2, initialIntervalMs: 200, maxIntervalMs: 400 };

async function openRecovery(investorId: string, key: string) {
  await world.app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': `kd-${investorId}` },
    payload: { id: investorId, name: investorId },
  });
  return openRecoveryByHand(world, {
    investorId,
    amount: '15.00',
    reason: 'paid twice',
    idempotencyKey: key,
    queryPolicy: FAST,
  });
}
const decisionsOf = async (workflowId: string, kind: string) =>
  (
    await db.pool.query('SELECT id FROM operator_decisions WHERE workflow_id = $1 AND kind = $2', [
      workflowId,
      kind,
    ])
  ).rowCount;
const refusalsOf = async (workflowId: string) =>
  (
    await db.pool.query('SELECT 1 FROM operator_decision_refusals WHERE workflow_id = $1', [
      workflowId,
    ])
  ).rowCount;
const writeOffPostings = async (recoveryId: string) =>
  (
    await db.pool.query(`SELECT 1 FROM ledger_transactions WHERE idempotency_key LIKE $1`, [
      `recovery:${recoveryId}:%write%`,
    ])
  ).rowCount;

/** The checker's approval of `approvalId` under its own key's headers. */
const approve = (approvalId: string, h: Record<string, string>) =>
  world.app.inject({
    method: 'POST',
    url: `/v1/approvals/${approvalId}/approve`,
    headers: h,
    payload: { reason: 'checked with the investor' },
  });

it('a repeated keyed write-off replays its held approval, a repeated keyed approval its answer; after a lost answer the retry gets it too, with one decision and one write-off', async () => {
  const { recoveryId, workflowId } = await openRecovery('kd-ana', 'kd-open-1');
  const headers = { ...(await operatorHeaders(world.app)), 'idempotency-key': 'wo-1' };
  const writeOff = (
    h: Record<string, string> = headers,
    reason = 'the investor cannot be reached',
  ) =>
    world.app.inject({
      method: 'POST',
      url: `/v1/recoveries/${recoveryId}/write-off`,
      headers: h,
      payload: { reason },
    });

  const first = await writeOff();
  const approval = heldApproval(first);
  const again = await writeOff();
  expect({
    status: again.statusCode,
    body: again.json(),
    replayed: again.headers['idempotency-replayed'],
  }).toEqual({ status: 202, body: first.json(), replayed: 'true' });

  const checker = { ...(await operatorHeaders(world.app)), 'idempotency-key': 'ap-1' };
  const approved = await approve(approval.id, checker);
  expect(approved.statusCode).toBe(200);
  expect(approved.json().result.state).toBe('WRITTEN_OFF');
  const approvedAgain = await approve(approval.id, checker);
  expect({
    status: approvedAgain.statusCode,
    body: approvedAgain.json(),
    replayed: approvedAgain.headers['idempotency-replayed'],
  }).toEqual({ status: 200, body: approved.json(), replayed: 'true' });

  // The answer was lost before it was stored (the API died after the workflow answered): only the
  // approval, with the decision it recorded, is left.
  await db.pool.query(`DELETE FROM api_idempotency WHERE key = 'ap-1'`);
  const retried = await approve(approval.id, checker);
  expect({
    status: retried.statusCode,
    state: retried.json().result?.state,
    replayed: retried.headers['idempotency-replayed'],
  }).toEqual({ status: 200, state: 'WRITTEN_OFF', replayed: undefined });
  expect(await decisionsOf(workflowId, 'recovery.write_off')).toBe(1);
  expect(await refusalsOf(workflowId)).toBe(0); // the same decision, not a used one sent again
  expect(await writeOffPostings(recoveryId)).toBe(1);

  // The same key with another request is refused; without a key a second write-off is refused:
  // the recovery is written off.
  const reused = await writeOff(headers, 'another reason');
  expect({ status: reused.statusCode, code: reused.json().error.code }).toEqual({
    status: 422,
    code: 'IDEMPOTENCY_KEY_REUSED',
  });
  const { 'idempotency-key': _unused, ...unkeyed } = headers;
  expect((await writeOff(unkeyed)).statusCode).toBe(409);
  expect(await writeOffPostings(recoveryId)).toBe(1);
}, 120_000);

it(`bursts of ${POOL * 4} identical keyed requests on a pool of ${POOL}, to hold a write-off and to approve it, all get the one answer: one approval, one decision, one write-off`, async () => {
  const { recoveryId, workflowId } = await openRecovery('kd-ben', 'kd-open-2');
  const burst = (n: number, send: () => Promise<LightMyRequestResponse>) =>
    Promise.all(Array.from({ length: n }, send));
  const headers = { ...(await operatorHeaders(world.app)), 'idempotency-key': 'wo-burst' };
  const started = Date.now();
  const held = await burst(POOL * 4, () =>
    world.app.inject({
      method: 'POST',
      url: `/v1/recoveries/${recoveryId}/write-off`,
      headers,
      payload: { reason: 'written off once' },
    }),
  );
  const ids = new Set(held.map((h) => heldApproval(h).id));
  expect(ids.size).toBe(1);
  const checker = { ...(await operatorHeaders(world.app)), 'idempotency-key': 'ap-burst' };
  const answers = await burst(POOL * 4, () => approve([...ids][0], checker));
  expect(new Set(answers.map((a) => `${a.statusCode} ${a.json().result?.state}`))).toEqual(
    new Set(['200 WRITTEN_OFF']),
  );
  // no request waited out the pool's 10 s timeout
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(
    (
      await db.pool.query(
        `SELECT 1 FROM approvals WHERE workflow_id = $1 AND action = 'recovery.write_off'`,
        [workflowId],
      )
    ).rowCount,
  ).toBe(1);
  expect(await decisionsOf(workflowId, 'recovery.write_off')).toBe(1);
  expect(await writeOffPostings(recoveryId)).toBe(1);
}, 120_000);
