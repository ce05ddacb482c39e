// A whole local stack inside one test file: the API (inject), a worker and the outbox dispatcher
// on a real Temporal dev server, all on the file's own Postgres schema.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { GatewayClient } from '../../gateway/client';
import { Ledger } from '../../ledger';
import { OutboxDispatcher } from '../../worker/outbox-dispatcher';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import type { TestDatabase } from './postgres';
import { workflowBundle } from './temporal';

/** A gateway client for tests whose workflows never reach a gateway: any call fails as not sent. */
export function unreachableGateway(): GatewayClient {
  return new GatewayClient({
    baseUrl: 'http://127.0.0.1:9',
    merchantId: 'none',
    secret: 'none',
    connectTimeoutMs: 100,
    requestTimeoutMs: 100,
  });
}

export async function createWorker(
  env: TestWorkflowEnvironment,
  db: TestDatabase,
  gateway: GatewayClient = unreachableGateway(),
): Promise<Worker> {
  return Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ pool: db.pool, temporal: env.client, gateway }),
  });
}

/** Drains the outbox of every row due now (bounded), as the dispatcher process would. */
export async function drainOutbox(
  dispatcher: OutboxDispatcher,
  db: TestDatabase,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await dispatcher.drainOnce();
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n FROM outbox WHERE not_before <= now()',
    );
    if (rows[0].n === 0) return;
    if (Date.now() > deadline)
      throw new Error(`outbox not drained after ${timeoutMs} ms: ${rows[0].n} rows left`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Funds investors' accounts straight from the gateway clearing account (deposits are tested on
 * their own).
 */
export async function fundInvestor(
  db: TestDatabase,
  investorId: string,
  amountMinor: bigint,
): Promise<void> {
  await new Ledger(db.pool).transfer({
    idempotencyKey: `test-fund:${investorId}`,
    from: 'gateway:default:clearing',
    to: `investor:${investorId}:available`,
    amount: amountMinor,
    currency: 'CNY',
  });
}

/** With RECORD_HISTORIES=1, saves a finished workflow's history for the replay tests. */
export async function maybeRecordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  writeFileSync(
    join(__dirname, '..', 'replay', 'histories', `${name}.json`),
    historyToJSON(history) + '\n',
  );
}
