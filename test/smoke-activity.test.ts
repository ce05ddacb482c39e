// The smoke activity alone: idempotent when Temporal runs it twice.
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSmokeActivities } from '../activities/smoke';
import { useTestDatabase } from './helpers/postgres';

const db = useTestDatabase();

it('writes one row however often it runs', async () => {
  const { recordSmokeRun } = createSmokeActivities({ pool: db.pool });
  const env = new MockActivityEnvironment();
  const first = await env.run(recordSmokeRun, { workflowId: 'wf-1', message: 'first' });
  const second = await env.run(recordSmokeRun, { workflowId: 'wf-1', message: 'second' });
  expect(second).toEqual(first);
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM smoke_runs');
  expect(rows[0].n).toBe(1);
});
