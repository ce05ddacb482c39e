// The foundation proven end to end: a workflow's timer, its activity, and a row in the real
// Postgres.
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Duration } from '@temporalio/common';
import { createActivities } from '../activities';
import { smokeWorkflow } from '../workflows';
import { TASK_QUEUE } from '../workflows/contracts/common';
import { useTestDatabase } from './helpers/postgres';
import { unreachableGateway } from './helpers/stack';
import { createDevServerEnv, createTimeSkippingEnv, workflowBundle } from './helpers/temporal';

const db = useTestDatabase();

async function runSmoke(env: TestWorkflowEnvironment, workflowId: string, wait: Duration) {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: createActivities({
      pool: db.pool,
      temporal: env.client,
      gateway: unreachableGateway(),
    }),
  });
  return worker.runUntil(
    env.client.workflow.execute(smokeWorkflow, {
      workflowId,
      taskQueue: TASK_QUEUE,
      args: [{ message: `hello from ${workflowId}`, wait }],
    }),
  );
}

async function storedRow(workflowId: string) {
  const { rows } = await db.pool.query('SELECT message FROM smoke_runs WHERE workflow_id = $1', [
    workflowId,
  ]);
  return rows;
}

describe('smoke workflow on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('skips a 30-day timer and writes its row to Postgres', async () => {
    const startedAtMs = await env.currentTimeMs();
    const wallStartMs = Date.now();
    const result = await runSmoke(env, 'smoke-time-skipping', '30 days');

    expect(result.message).toBe('hello from smoke-time-skipping');
    expect(await storedRow('smoke-time-skipping')).toEqual([
      { message: 'hello from smoke-time-skipping' },
    ]);
    expect((await env.currentTimeMs()) - startedAtMs).toBeGreaterThanOrEqual(30 * 24 * 3600 * 1000);
    expect(Date.now() - wallStartMs).toBeLessThan(60_000);
  });
});

describe('smoke workflow on the dev server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await createDevServerEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('runs on a real dev server, writes once, and a second start with the same id is rejected', async () => {
    const result = await runSmoke(env, 'smoke-dev-server', '1 second');
    expect(result.workflowId).toBe('smoke-dev-server');
    expect(await storedRow('smoke-dev-server')).toHaveLength(1);

    await expect(
      env.client.workflow.start(smokeWorkflow, {
        workflowId: 'smoke-dev-server',
        taskQueue: TASK_QUEUE,
        args: [{ message: 'again', wait: '1 second' }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      }),
    ).rejects.toThrow(/already started/i);
  });
});
