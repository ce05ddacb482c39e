// Issue 15, item 12: an outbox signal to a workflow that already finished was retried forever,
// backing off to a minute, and nobody was told. It is dead-lettered with an alert instead; a
// signal to a workflow not started yet is still retried (its start row may be queued behind it).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { OutboxDispatcher } from '../../worker/outbox-dispatcher';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import { useTestApi } from '../api/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { createDevServerEnv } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
afterAll(async () => {
  await env?.teardown();
});
const db = useTestDatabase();
const api = useTestApi(db);
beforeAll(async () => {
  env = await createDevServerEnv();
});

it('a signal to a finished workflow is dead-lettered with an alert, not retried forever', async () => {
  // A workflow that has closed (no worker needed: terminated right after it starts).
  const finished = await env.client.workflow.start('recoveryWorkflow', {
    workflowId: 'recovery-dl-1',
    taskQueue: TASK_QUEUE,
    args: [{ recoveryId: 'dl-1', investorId: 'ivy' }],
  });
  await finished.terminate('closed for the test');
  await db.pool.query(
    `INSERT INTO outbox (action, workflow_id, signal_name) VALUES ('signal', 'recovery-dl-1', 'recoveryClosed'), ('signal', 'recovery-not-yet', 'recoveryClosed')`,
  );

  const alerts: string[] = [];
  const spy = jest.spyOn(console, 'error').mockImplementation((line: string) => {
    alerts.push(line);
  });
  const dispatcher = new OutboxDispatcher(db.pool, env.client);
  try {
    await dispatcher.drainOnce();
  } finally {
    spy.mockRestore();
  }

  const { rows: dead } = await db.pool.query(
    'SELECT workflow_id, signal_name, attempts, reason FROM outbox_dead_letters',
  );
  expect(dead).toEqual([
    {
      workflow_id: 'recovery-dl-1',
      signal_name: 'recoveryClosed',
      attempts: 1,
      reason: expect.stringContaining('already TERMINATED'),
    },
  ]);
  expect(dispatcher.stats.deadLettered).toBe(1);
  expect(alerts.map((a) => JSON.parse(a))).toEqual([
    expect.objectContaining({ level: 'alert', workflowId: 'recovery-dl-1' }),
  ]);
  // The one not started yet stays, backed off, for the next pass.
  const { rows: left } = await db.pool.query(
    'SELECT workflow_id, attempts, last_error FROM outbox',
  );
  expect(left).toEqual([
    {
      workflow_id: 'recovery-not-yet',
      attempts: 1,
      last_error: expect.stringContaining('not started yet'),
    },
  ]);

  // Operators see it on the API's metrics.
  const metrics = await api.app.inject({ method: 'GET', url: '/metrics' });
  expect(metrics.body).toMatch(/^outbox_dead_letters 1$/m);
});
