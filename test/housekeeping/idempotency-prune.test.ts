// Issue 16, item 7: the idempotency table is pruned after its retention period by a scheduled job.
// On a real Temporal dev server and Postgres: the worker's hourly Schedule exists and starts the
// pruning workflow, which deletes only the stored responses past the retention.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { workflowIds } from '../../ids/workflow-ids';
import { ensureIdempotencyPruning } from '../../worker/schedules';
import { idempotencyPruneWorkflow } from '../../workflows';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import { useTestDatabase } from '../helpers/postgres';
import { maybeRecordHistory, unreachableGateway } from '../helpers/stack';
import { createDevServerEnv, workflowBundle } from '../helpers/temporal';

const db = useTestDatabase();
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createDevServerEnv();
}, 120_000);
afterAll(() => env?.teardown());

async function store(scope: string, key: string, ageMinutes: number): Promise<void> {
  await db.pool.query(
    `INSERT INTO api_idempotency (scope, key, request_hash, response_status, response_body, created_at)
     VALUES ($1, $2, 'h', 201, '{}', now() - make_interval(mins => $3))`,
    [scope, key, ageMinutes],
  );
}

it('prunes the stored responses older than the retention, keeps the newer, and is started by an hourly Schedule', async () => {
  for (let i = 0; i < 7; i++) await store('k1', `old-${i}`, 61 + i);
  await store('k1', 'recent', 59);
  await store('k2', 'recent', 1);
  // A decision recorded under a key (api/decisions.ts), past the retention: pruned with the
  // responses.
  await db.pool.query(
    `INSERT INTO operator_decisions (id, workflow_id, kind, actor, payload, reason) VALUES ('dec-00000000-0000-4000-8000-000000000001', 'payout-x', 'review.resolve', 'operator:t', '{}', 'test')`,
  );
  await db.pool.query(
    `INSERT INTO api_idempotent_decisions (scope, key, request_hash, decision_id, created_at) VALUES ('k1', 'old-decision', 'h', 'dec-00000000-0000-4000-8000-000000000001', now() - interval '2 hours')`,
  );
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: createActivities({
      pool: db.pool,
      temporal: env.client,
      gateway: unreachableGateway(),
      idempotencyRetentionHours: 1,
    }),
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(idempotencyPruneWorkflow, {
      taskQueue: TASK_QUEUE,
      workflowId: 'idempotency-prune-test',
    });
    const result = await handle.result();
    expect(result).toMatchObject({ deleted: 8, retentionHours: 1 });
    expect((await db.pool.query('SELECT 1 FROM api_idempotent_decisions')).rowCount).toBe(0);
    await maybeRecordHistory(handle, 'idempotencyPruneWorkflow-pruned');
    const left = await db.pool.query<{ scope: string; key: string }>(
      'SELECT scope, key FROM api_idempotency ORDER BY scope, key',
    );
    expect(left.rows).toEqual([
      { scope: 'k1', key: 'recent' },
      { scope: 'k2', key: 'recent' },
    ]);
    // A re-run finds nothing more to delete.
    expect(
      await env.client.workflow.execute(idempotencyPruneWorkflow, {
        taskQueue: TASK_QUEUE,
        workflowId: 'idempotency-prune-again',
      }),
    ).toMatchObject({ deleted: 0 });

    // The worker creates the Schedule once; a second worker start leaves it as it is.
    expect(await ensureIdempotencyPruning(env.client)).toBe('created');
    expect(await ensureIdempotencyPruning(env.client)).toBe('exists');
    const schedule = await env.client.schedule
      .getHandle(workflowIds.idempotencyPruneSchedule())
      .describe();
    expect(schedule.spec.intervals).toEqual([expect.objectContaining({ every: 3_600_000 })]);
    expect(schedule.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'idempotencyPruneWorkflow',
      taskQueue: TASK_QUEUE,
    });
    // Triggered now, as the hour would: it runs the same workflow.
    await store('k3', 'old', 120);
    await env.client.schedule.getHandle(workflowIds.idempotencyPruneSchedule()).trigger();
    const deadline = Date.now() + 30_000;
    while (
      (await db.pool.query(`SELECT 1 FROM api_idempotency WHERE scope = 'k3'`)).rowCount !== 0
    ) {
      if (Date.now() > deadline) throw new Error('the scheduled run did not prune the old row');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
}, 120_000);
