// The incident this company exists to prevent, rehearsed: a payout run's worker process is killed
// (SIGKILL) in the middle of the run while two more runs for the same installment start at the
// same moment. A new worker picks the run up; every investor is paid each part exactly once, and
// the ledger equals the gateway's truth.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { Ledger } from '../../ledger';
import { OutboxDispatcher } from '../../worker/outbox-dispatcher';
import { ADMIN_KEY, operatorHeaders } from '../api/helpers';
import { heldApproval, verdict } from '../helpers/approvals';
import { SECRET, startTestSimulator, tempDir } from '../gateway/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { drainOutbox } from '../helpers/stack';
import { processDatabaseUrl, startProcess, type RunningProcess } from '../helpers/processes';
import { createDevServerEnv } from '../helpers/temporal';
import { expectLedgerConsistent } from '../ledger/helpers';
import {
  expectLedgerEqualsGateway,
  INVESTOR_FUNDS,
  investorId,
  openAndFillLoan,
  until,
  type LoanPlan,
} from './helpers';
import { startPayoutRunAsJob } from '../../cli/payout-run-job';

const simulatorDir = tempDir();
let env: TestWorkflowEnvironment;
let simulator: RunningSimulator;
let app: FastifyInstance;
const workers: RunningProcess[] = [];
afterAll(async () => {
  for (const w of workers) await w.kill();
  await app?.close();
  await env?.teardown();
  await simulator?.close();
  simulatorDir.remove();
});
const db = useTestDatabase({ poolSize: 20 });

beforeAll(async () => {
  simulator = await startTestSimulator({ dataDir: simulatorDir.path });
  env = await createDevServerEnv();
  app = await buildApp({ pool: db.pool, adminApiKey: ADMIN_KEY, temporal: env.client });
  await app.ready();
});

/**
 * The real worker process (npm run worker), on this file's schema, the test server and the
 * simulator.
 */
const startWorkerProcess = () =>
  startProcess('worker', {
    DATABASE_URL: processDatabaseUrl(db),
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_NAMESPACE: 'default',
    GATEWAY_URL: simulator.url,
    GATEWAY_SECRET: SECRET,
  });

const scheduledPaid = async (loanId: string) =>
  (
    await db.pool.query(
      `SELECT count(*)::int AS n FROM payouts WHERE loan_id = $1 AND status = 'SUCCEEDED'`,
      [loanId],
    )
  ).rows[0].n as number;

it('pays every investor once when the worker is killed mid-run and overlapping runs start at the same moment', async () => {
  const plan: LoanPlan = {
    id: 'kr1',
    holdings: Array.from({ length: 40 }, () => 25_000n),
    termMonths: 1,
    repaymentMethod: 'interest_then_principal',
    intervalSeconds: 4,
  };
  await openAndFillLoan(app, db, plan);
  workers.push(await startWorkerProcess());
  await drainOutbox(new OutboxDispatcher(db.pool, env.client), db);

  // As soon as the installment is distributed: two API requests and a second run under another id,
  // at once.
  await until(
    async () =>
      (await db.pool.query(`SELECT status FROM loan_installments WHERE loan_id = 'kr1'`)).rows[0]
        .status as string,
    (s) => s === 'DISTRIBUTED' || s === 'PAID_OUT',
    60_000,
  );
  const operator = await operatorHeaders(app);
  const runRequest = () =>
    app.inject({
      method: 'POST',
      url: '/v1/payout-runs',
      headers: operator,
      payload: { loanId: 'kr1', installment: 1 },
    });
  const [a, b] = await Promise.all([
    runRequest(),
    runRequest(),
    startPayoutRunAsJob(db.pool, env.client, {
      workflowId: 'payout-run-kr1-1-maturity',
      input: { loanId: 'kr1', installment: 1 },
      job: 'maturity',
    }),
  ]);
  // Started by hand, the run waits for a second operator: the two requests are one approval.
  const held = heldApproval(a);
  expect(held.workflowId).toBe('payout-run-kr1-1');
  expect(heldApproval(b).id).toBe(held.id);
  // Two checkers approve at the same moment: one carries it out, the other is told it was decided.
  const verdicts = await Promise.all([
    verdict(app, held.id, 'approve'),
    verdict(app, held.id, 'approve'),
  ]);
  expect(verdicts.map((v) => v.statusCode).sort()).toEqual([200, 409]);
  expect(
    (
      await db.pool.query(
        `SELECT count(*)::int AS n FROM operator_decisions
         WHERE workflow_id = 'payout-run-kr1-1' AND kind = 'payout_run.start'`,
      )
    ).rows[0].n,
  ).toBe(1);
  // the API's run starts from its outbox row
  await drainOutbox(new OutboxDispatcher(db.pool, env.client), db);

  // Kill the worker with some payouts done and others not.
  await until(
    () => scheduledPaid('kr1'),
    (n) => n >= 10,
    60_000,
  );
  await workers[0].kill();
  const paidAtKill = await scheduledPaid('kr1');
  expect(paidAtKill).toBeLessThan(80);

  workers.push(await startWorkerProcess());
  expect(await env.client.workflow.getHandle('loan-kr1').result()).toBe('CLOSED');
  const rogue = await env.client.workflow.getHandle('payout-run-kr1-1-maturity').result();
  expect(rogue.payouts).toBe(80);

  const executed = simulator
    .truth()
    .filter((o) => o.kind === 'PAYOUT' && o.status === 'SUCCESS' && o.orderNo.startsWith('kr1-1-'));
  expect(executed).toHaveLength(80); // 40 investors, interest and principal
  expect(new Set(executed.map((o) => o.orderNo)).size).toBe(80);
  for (let i = 0; i < 40; i++) {
    expect(
      (await new Ledger(db.pool).balance(`investor:${investorId(plan, i)}:available`)).posted,
    ).toBe(INVESTOR_FUNDS - 25_000n);
  }
  await expectLedgerConsistent(db.pool);
  await expectLedgerEqualsGateway(db.pool, simulator);
  await workers[1].stop();
}, 180_000);
