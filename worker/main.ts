// The Temporal worker process: runs every workflow and activity on the lending-core task queue.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { temporalSettingsFromEnv } from '../config/temporal';
import { GatewayClient } from '../gateway/client';
import { createPool } from '../ledger/db';
import { DEFAULT_CHANNEL } from '../payments/deposits';
import { TASK_QUEUE } from '../workflows/shared';
import { ensureDailyReconciliation } from './schedules';

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set');
  const temporal = temporalSettingsFromEnv();
  const gatewayUrl = process.env.GATEWAY_URL;
  const gatewaySecret = process.env.GATEWAY_SECRET;
  if (!gatewayUrl || !gatewaySecret) throw new Error('GATEWAY_URL and GATEWAY_SECRET must be set');
  const gateway = new GatewayClient({
    baseUrl: gatewayUrl, merchantId: process.env.GATEWAY_MERCHANT_ID ?? 'lending-core', secret: gatewaySecret,
    connectTimeoutMs: 3_000, requestTimeoutMs: 10_000,
  });
  const pool = createPool({ connectionString: databaseUrl, max: 20, applicationName: 'worker' });
  const connection = await NativeConnection.connect({ address: temporal.address, tls: temporal.tls, apiKey: temporal.apiKey });
  // Activities that signal other workflows use a client of their own.
  const clientConnection = await Connection.connect({ address: temporal.address, tls: temporal.tls, apiKey: temporal.apiKey });
  const client = new Client({ connection: clientConnection, namespace: temporal.namespace });
  try {
    const worker = await Worker.create({
      connection,
      namespace: temporal.namespace,
      taskQueue: TASK_QUEUE,
      workflowsPath: require.resolve('../workflows'),
      activities: createActivities({ pool, temporal: client, gateway }),
    });
    const schedule = await ensureDailyReconciliation(client, DEFAULT_CHANNEL);
    console.log(`[worker] daily reconciliation schedule recon-daily-${DEFAULT_CHANNEL}: ${schedule}`);
    console.log(`[worker] polling task queue ${TASK_QUEUE} on ${temporal.address} (namespace ${temporal.namespace})`);
    // Worker.run() resolves after SIGINT/SIGTERM once in-flight tasks are done (the SDK installs the handlers).
    await worker.run();
  } finally {
    await clientConnection.close();
    await connection.close();
    await pool.end();
  }
}

main().catch((err: Error) => {
  console.error(`[worker] fatal: ${err.stack ?? err.message}`);
  process.exit(1);
});
