// The Temporal worker process: runs every workflow and activity on the lending-core task queue.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { temporalSettingsFromEnv } from '../config/temporal';
import { GatewayClient } from '../gateway/client';
import { bankAccountCoolingOffSeconds, configOrExit } from '../config/env';
import { assertLeastPrivilegedLogin } from '../db/app-role';
import { createPool } from '../db/pool';
import { assertEnvironment } from '../db/environment';
import { DEFAULT_CHANNEL } from '../payments/channels';
import { TASK_QUEUE } from '../workflows/contracts/common';
import { ensureDailyReconciliation, ensureIdempotencyPruning } from './schedules';
import { workflowIds } from '../ids/workflow-ids';

async function main(): Promise<void> {
  const config = configOrExit('worker');
  const temporal = temporalSettingsFromEnv();
  const gateway = new GatewayClient({
    baseUrl: config.GATEWAY_URL as string,
    merchantId: config.GATEWAY_MERCHANT_ID,
    secret: config.GATEWAY_SECRET as string,
    connectTimeoutMs: 3_000,
    requestTimeoutMs: 10_000,
  });
  // The application role's own login (db/app-role.ts): refused in staging and production if it is
  // the owner's.
  const pool = createPool({
    connectionString: config.DATABASE_URL as string,
    max: 20,
    applicationName: 'worker',
  });
  await assertLeastPrivilegedLogin(pool, config.APP_ENV, (m) => console.warn(`[worker] ${m}`));
  await assertEnvironment(pool, config.APP_ENV);
  const connection = await NativeConnection.connect({
    address: temporal.address,
    tls: temporal.tls,
    apiKey: temporal.apiKey,
  });
  // Activities that signal other workflows use a client of their own.
  const clientConnection = await Connection.connect({
    address: temporal.address,
    tls: temporal.tls,
    apiKey: temporal.apiKey,
  });
  const client = new Client({ connection: clientConnection, namespace: temporal.namespace });
  try {
    const worker = await Worker.create({
      connection,
      namespace: temporal.namespace,
      taskQueue: TASK_QUEUE,
      workflowsPath: require.resolve('../workflows'),
      activities: createActivities({
        pool,
        temporal: client,
        gateway,
        idempotencyRetentionHours: config.IDEMPOTENCY_RETENTION_HOURS,
        bankAccountCoolingOffSeconds: bankAccountCoolingOffSeconds(config),
      }),
    });
    const schedule = await ensureDailyReconciliation(client, DEFAULT_CHANNEL);
    console.log(
      `[worker] daily reconciliation schedule ${workflowIds.reconciliationSchedule(DEFAULT_CHANNEL)}: ${schedule}`,
    );
    console.log(
      `[worker] hourly idempotency pruning schedule ${workflowIds.idempotencyPruneSchedule()}: ${await ensureIdempotencyPruning(client)}`,
    );
    console.log(
      `[worker] polling task queue ${TASK_QUEUE} on ${temporal.address} (namespace ${temporal.namespace})`,
    );
    // Worker.run() resolves after SIGINT/SIGTERM once in-flight tasks are done (the SDK installs
    // the handlers).
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
