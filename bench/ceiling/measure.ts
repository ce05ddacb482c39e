// Measures, in the benchmark's own run, what the engines under the system can do bare:
// Temporal completions/s of an empty workflow with one no-op activity, and Postgres hot-row
// UPDATEs/s. Figures of the system are reported as ratios to these.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import {
  NativeConnection,
  Worker,
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
} from '@temporalio/worker';
import { Client as PgClient } from 'pg';

const CEILING_QUEUE = 'bench-ceiling';

export async function temporalCeiling(
  address: string,
  namespace: string,
  workflows: number,
  parallel = 100,
): Promise<{ completed_per_s: number; workflows: number }> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: new DefaultLogger('ERROR'),
  });
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace,
    taskQueue: CEILING_QUEUE,
    workflowBundle: bundle,
    activities: { noop: async () => undefined },
  });
  const run = randomUUID().slice(0, 8);
  let next = 0;
  const started = Date.now();
  await worker.runUntil(
    Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < workflows) {
          const i = next++;
          await client.workflow.execute('ceilingWorkflow', {
            workflowId: `ceiling-${run}-${i}`,
            taskQueue: CEILING_QUEUE,
          });
        }
      }),
    ),
  );
  const seconds = (Date.now() - started) / 1000;
  await connection.close();
  await nativeConnection.close();
  return { completed_per_s: Math.round(workflows / seconds), workflows };
}

export async function postgresHotRowCeiling(
  databaseUrl: string,
  seconds: number,
  clients = 8,
): Promise<{ updates_per_s: number; clients: number }> {
  const admin = new PgClient({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(
    'CREATE TABLE IF NOT EXISTS bench_hot_row (id int PRIMARY KEY, n bigint NOT NULL)',
  );
  await admin.query('INSERT INTO bench_hot_row VALUES (1, 0) ON CONFLICT DO NOTHING');
  let updates = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new PgClient({ connectionString: databaseUrl });
      await c.connect();
      while (Date.now() < deadline) {
        await c.query('UPDATE bench_hot_row SET n = n + 1 WHERE id = 1');
        updates += 1;
      }
      await c.end();
    }),
  );
  await admin.query('DROP TABLE bench_hot_row');
  await admin.end();
  return { updates_per_s: Math.round(updates / ((Date.now() - started) / 1000)), clients };
}
