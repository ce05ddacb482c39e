// Issue 16, item 11: an operator's audit row commits with its effect's intent, in one transaction,
// so no crash between the API and Temporal loses it. A payout run asked for through the API is its
// decision, its `payout_run.started` row and an outbox start together (the dispatcher starts it, as
// after a crash); a collection request's `recovery.collection_requested` row commits with its
// decision.
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { ADMIN_KEY } from '../api/helpers';
import type { QueryPolicy } from '../../workflows/contracts/gateway-order';
import { ACCOUNT } from '../gateway/helpers';
import { collectAndDistribute, createRepayingLoan } from '../money-safety/fixtures';
import { drainOutbox } from '../helpers/stack';
import { approveHeld, heldApproval, verdict } from '../helpers/approvals';
import {
  admin,
  openRecoveryByHand,
  operatorHeaders,
  until,
  useOutcomeWorld,
} from '../outcomes/helpers';

const world = useOutcomeWorld({ poolSize: 20 });
const { db } = world;
const FAST: QueryPolicy = { attempts: 2, initialIntervalMs: 200, maxIntervalMs: 400 };

const audit = async (action: string, subject: string) =>
  (
    await db.pool.query<{ actor: string; details: { decisionId?: string } }>(
      'SELECT actor, details FROM audit_log WHERE action = $1 AND subject = $2 ORDER BY id',
      [action, subject],
    )
  ).rows;
const decisions = async (workflowId: string) =>
  (
    await db.pool.query<{ id: string; actor: string; taken_by: string | null }>(
      'SELECT id, actor, taken_by FROM operator_decisions WHERE workflow_id = $1 ORDER BY created_at',
      [workflowId],
    )
  ).rows;

it('a payout run asked for through the API is its decision, audit row and start in one transaction: none without the others, and it starts after a crash', async () => {
  await createRepayingLoan(db.pool, {
    id: 'ai-loan',
    holdings: [{ investorId: 'ai-inv', holdingMinor: 100_000n }],
    termMonths: 1,
    repaymentMethod: 'interest_then_principal',
  });
  await collectAndDistribute(db.pool, 'ai-loan', 1);
  const operator = await operatorHeaders(world.app);
  const workflowId = 'payout-run-ai-loan-1';
  const ask = () =>
    world.app.inject({
      method: 'POST',
      url: '/v1/payout-runs',
      headers: operator,
      payload: { loanId: 'ai-loan', installment: 1 },
    });

  // Started by hand, the run waits for a second operator; approving it is the transaction.
  const approval = heldApproval(await ask());
  const checker = await operatorHeaders(world.app);
  const approve = () => verdict(world.app, approval.id, 'approve', checker);

  // The outbox insert fails: nothing of the approval is left, no decision and no audit row, and it
  // still waits.
  await db.pool.query(
    `CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'outbox refused by the test'; END $$`,
  );
  await db.pool.query(
    `CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox()`,
  );
  expect((await approve()).statusCode).toBe(500);
  await db.pool.query('DROP TRIGGER refuse_outbox ON outbox');
  expect(await decisions(workflowId)).toEqual([]);
  expect(await audit('payout_run.started', workflowId)).toEqual([]);
  expect(await audit('approval.approved', workflowId)).toEqual([]);
  expect(
    (await world.app.inject({ method: 'GET', url: '/v1/approvals', headers: checker })).json(),
  ).toEqual(expect.arrayContaining([expect.objectContaining({ id: approval.id })]));

  // Committed: the decision, its audit row and the start are there before Temporal has heard of the
  // run (the API may die now).
  const res = await approve();
  expect(res.statusCode).toBe(200);
  const [decision] = await decisions(workflowId);
  expect(decision).toMatchObject({ actor: approval.requestedBy, taken_by: null });
  expect(await audit('payout_run.started', workflowId)).toEqual([
    {
      actor: decision.actor,
      details: {
        decisionId: decision.id,
        approvalId: approval.id,
        approvedBy: expect.stringMatching(/^operator:[0-9a-f]{16}$/),
      },
    },
  ]);
  const { rows: outbox } = await db.pool.query(
    `SELECT workflow_type, payload FROM outbox WHERE workflow_id = $1`,
    [workflowId],
  );
  expect(outbox).toEqual([
    {
      workflow_type: 'payoutRunWorkflow',
      payload: { loanId: 'ai-loan', installment: 1, decisionId: decision.id },
    },
  ]);
  await expect(world.env.client.workflow.getHandle(workflowId).describe()).rejects.toThrow(
    WorkflowNotFoundError,
  );

  // The dispatcher (a restarted one, as after a crash) starts it; the run takes that decision and
  // pays once. A repeat reaches the same run.
  await drainOutbox(world.dispatcher, db);
  expect(await world.env.client.workflow.getHandle(workflowId).result()).toMatchObject({
    payouts: 2,
    failed: 0,
    manualReview: 0,
  });
  expect((await decisions(workflowId))[0].taken_by).toMatch(new RegExp(`^${workflowId}/`));
  await approveHeld(world.app, await ask());
  await drainOutbox(world.dispatcher, db);
  const runs = [];
  for await (const w of world.env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    runs.push(w.runId);
  expect(runs).toHaveLength(1);
  const {
    rows: [{ n }],
  } = await db.pool.query(`SELECT count(*)::int AS n FROM payouts WHERE loan_id = 'ai-loan'`);
  expect(n).toBe(2);
}, 120_000);

it("a collection request's audit row commits with its decision, before the workflow is told", async () => {
  await world.app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'ai-inv-2' },
    payload: { id: 'ai-ida', name: 'Ida' },
  });
  // where the collection is taken from: a verified account on file
  await putVerifiedAccountOnFile(db.pool, 'ai-ida', ACCOUNT);
  const { recoveryId, workflowId } = await openRecoveryByHand(world, {
    investorId: 'ai-ida',
    amount: '9.00',
    reason: 'paid twice',
    idempotencyKey: 'ai-open',
    queryPolicy: FAST,
  });
  // The decision's transaction fails after the audit row would be written: neither is left.
  await db.pool.query(
    `CREATE FUNCTION refuse_intent() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.action = 'recovery.collection_requested' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`,
  );
  await db.pool.query(
    `CREATE TRIGGER refuse_intent BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_intent()`,
  );
  const operator = await operatorHeaders(world.app);
  const request = () =>
    world.app.inject({
      method: 'POST',
      url: `/v1/recoveries/${recoveryId}/request-collection`,
      headers: operator,
      payload: { reason: 'asked the investor' },
    });
  const recordedBefore = (await decisions(workflowId)).length; // the opening's own decision
  expect((await request()).statusCode).toBe(500);
  await db.pool.query('DROP TRIGGER refuse_intent ON audit_log');
  expect(await decisions(workflowId)).toHaveLength(recordedBefore);
  expect(await audit('recovery.collection_requested', recoveryId)).toEqual([]);

  const res = await request();
  expect(res.statusCode).toBe(200);
  const mine = (await decisions(workflowId)).slice(recordedBefore);
  expect(mine).toHaveLength(1);
  expect(mine[0].taken_by).toMatch(new RegExp(`^${workflowId}/`));
  expect(await audit('recovery.collection_requested', recoveryId)).toEqual([
    { actor: mine[0].actor, details: { decisionId: mine[0].id } },
  ]);
  // The usual order: the Update took it, then the outbox's signal for the same decision arrives:
  // nothing more is asked and nothing is refused.
  const asked = () =>
    world.simulator.truth().filter((o) => o.orderNo.startsWith(`rq-${recoveryId}-`)).length;
  const before = asked();
  await drainOutbox(world.dispatcher, db);
  await new Promise((r) => setTimeout(r, 1_000));
  expect(asked()).toBe(before);
  const refused = await db.pool.query(
    'SELECT 1 FROM operator_decision_refusals WHERE workflow_id = $1',
    [workflowId],
  );
  expect(refused.rows).toEqual([]);
}, 120_000);

it('a collection request whose Update never left (the API died after its commit) is delivered by the outbox row committed with it: taken once, collected once, and the retry under its key gets the same request', async () => {
  await world.app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'ai-inv-3' },
    payload: { id: 'ai-jo', name: 'Jo' },
  });
  await putVerifiedAccountOnFile(db.pool, 'ai-jo', ACCOUNT);
  const { recoveryId, workflowId } = await openRecoveryByHand(world, {
    investorId: 'ai-jo',
    amount: '7.00',
    reason: 'paid twice',
    idempotencyKey: 'ai-open-3',
    queryPolicy: FAST,
  });
  // Jo's bank refuses the collection: the recovery goes back to OFFSETTING and stays running.
  world.gateway.rule = (call) =>
    call.op === 'submit' && call.memo?.includes(`rq-${recoveryId}-`)
      ? 'fail:INSUFFICIENT_FUNDS'
      : undefined;
  // An API whose connection to Temporal dies after the decision commits.
  const dying = await buildApp({
    pool: db.pool,
    adminApiKey: ADMIN_KEY,
    temporal: {
      workflow: {
        getHandle: () => ({
          executeUpdate: async () => {
            throw new Error('the API died here');
          },
        }),
      },
    } as unknown as Client,
  });
  const operator = await operatorHeaders(world.app);
  const ask = (app: FastifyInstance) =>
    app.inject({
      method: 'POST',
      url: `/v1/recoveries/${recoveryId}/request-collection`,
      headers: { ...operator, 'idempotency-key': `ask-${recoveryId}` },
      payload: { reason: 'asked the investor' },
    });
  try {
    expect((await ask(dying)).statusCode).toBe(500);
  } finally {
    await dying.close();
  }
  const intents = await audit('recovery.collection_requested', recoveryId);
  expect(intents).toHaveLength(1);
  const asked = (await decisions(workflowId)).filter((d) => d.id === intents[0].details.decisionId);
  expect(asked.map((d) => d.taken_by)).toEqual([null]);

  // The dispatcher delivers it: the workflow takes the decision and collects.
  await drainOutbox(world.dispatcher, db);
  const collections = () =>
    world.simulator.truth().filter((o) => o.orderNo.startsWith(`rq-${recoveryId}-`));
  await until(
    async () => collections().length,
    (n) => n === 1,
    30_000,
  );
  await until(
    async () => (await decisions(workflowId)).find((d) => d.id === asked[0].id)?.taken_by,
    (t) => typeof t === 'string',
    30_000,
  );
  // The operator retries through a live API with the same key: the same decision, told again, is
  // the same request: answered, and nothing collected twice or refused.
  const retried = await ask(world.app);
  expect(retried.statusCode).toBe(200);
  expect(retried.json()).toMatchObject({ state: 'OFFSETTING' });
  expect(collections()).toHaveLength(1);
  const refused = await db.pool.query(
    'SELECT 1 FROM operator_decision_refusals WHERE workflow_id = $1',
    [workflowId],
  );
  expect(refused.rows).toEqual([]);
  world.gateway.rule = () => undefined;
}, 120_000);
