// The main job's scenario. For now: run the smoke workflow on the local stack and print its result.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { temporalSettingsFromEnv } from '../config/temporal';
import { smokeWorkflow } from '../workflows';
import { TASK_QUEUE } from '../workflows/shared';

async function main(): Promise<void> {
  const settings = temporalSettingsFromEnv();
  const uiUrl = process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233';
  const connection = await Connection.connect({ address: settings.address, tls: settings.tls, apiKey: settings.apiKey });
  try {
    const client = new Client({ connection, namespace: settings.namespace });
    const workflowId = `smoke-${randomUUID()}`;
    console.log(`[demo] starting ${workflowId} (waits 2 s on a durable timer, then writes a row to Postgres)`);
    const handle = await client.workflow.start(smokeWorkflow, {
      workflowId,
      taskQueue: TASK_QUEUE,
      args: [{ message: 'the stack is up', wait: '2 seconds' }],
    });
    const result = await handle.result();
    console.log(`[demo] result: ${JSON.stringify(result)}`);
    console.log(`[demo] see it in the Temporal Web UI: ${uiUrl}/namespaces/${settings.namespace}/workflows/${workflowId}`);
  } finally {
    await connection.close();
  }
}

main().catch((err: Error) => {
  console.error(`[demo] error: ${err.message}`);
  process.exit(1);
});
