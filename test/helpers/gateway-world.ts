// The world of a payment test: the real gateway simulator, a real Temporal dev server and a
// worker whose activities reach both, on the test file's own database.
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { parseFault } from '../../gateway/simulator/faults';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { reviewEvidenceQuery, type ReviewEvidence } from '../../workflows/contracts/gateway-order';
import { clientFor, startTestSimulator, tempDir } from '../gateway/helpers';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { ADMIN_KEY, operatorHeaders } from '../api/helpers';
import { useTestDatabase, type TestDatabase } from './postgres';
import { createWorker } from './stack';
import { createDevServerEnv } from './temporal';

export class GatewayWorld {
  private readonly dir = tempDir();
  private worker: Worker | undefined;
  private workerRun: Promise<void> | undefined;
  private envValue: TestWorkflowEnvironment | undefined;
  private simulatorValue: RunningSimulator | undefined;

  get env(): TestWorkflowEnvironment {
    if (!this.envValue) throw new Error('the gateway world is started in beforeAll');
    return this.envValue;
  }

  get simulator(): RunningSimulator {
    if (!this.simulatorValue) throw new Error('the gateway world is started in beforeAll');
    return this.simulatorValue;
  }

  async start(db: TestDatabase): Promise<void> {
    this.simulatorValue = await startTestSimulator({ dataDir: this.dir.path });
    this.envValue = await createDevServerEnv();
    this.worker = await createWorker(
      this.envValue,
      db,
      clientFor(this.simulatorValue.url, { requestTimeoutMs: 300 }),
    );
    this.workerRun = this.worker.run();
  }

  /**
   * Register with afterAll before the database's hooks: the worker must stop before its pool
   * closes.
   */
  async stop(): Promise<void> {
    this.worker?.shutdown();
    await this.workerRun;
    await this.envValue?.teardown();
    await this.simulatorValue?.close();
    this.dir.remove();
  }

  /** Makes every call meet this fault until reset(). */
  fault(spec: string): void {
    this.simulator.setFaultRates([{ spec, fault: parseFault(spec), rate: 1 }]);
  }

  async reset(): Promise<void> {
    this.simulator.setFaultRates([]);
    await this.simulator.endOutage();
  }
}

/** Polls a gateway-order workflow's evidence until `check` holds (bounded: 6 s). */
export async function untilEvidence(
  handle: WorkflowHandle,
  check: (e: ReviewEvidence) => boolean,
): Promise<ReviewEvidence> {
  for (let i = 0; i < 300; i++) {
    const evidence = await handle.query(reviewEvidenceQuery);
    if (check(evidence)) return evidence;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${handle.workflowId}`);
}

/**
 * A gateway world and the API (with its Temporal client) on a test file's own database, with the
 * hooks in the order jest needs: the API and the worker stop before the database's pool closes.
 */
export function useGatewayApp(options: { poolSize?: number } = {}): {
  world: GatewayWorld;
  db: TestDatabase;
  readonly app: FastifyInstance;
} {
  const world = new GatewayWorld();
  let app: FastifyInstance | undefined;
  afterAll(async () => {
    await app?.close();
    await world.stop();
  });
  const db = useTestDatabase(options);
  beforeAll(async () => {
    await world.start(db);
    app = await buildApp({ pool: db.pool, adminApiKey: ADMIN_KEY, temporal: world.env.client });
    await app.ready();
  });
  return {
    world,
    db,
    get app(): FastifyInstance {
      if (!app) throw new Error('the API is ready only inside tests');
      return app;
    },
  };
}

/**
 * useGatewayApp with an operator: a fresh operator key's Authorization header, issued before the
 * file's tests.
 */
export function useOperatorGatewayApp(options: { poolSize?: number } = {}): {
  world: GatewayWorld;
  db: TestDatabase;
  readonly app: FastifyInstance;
  readonly operator: { authorization: string };
} {
  const gatewayApp = useGatewayApp(options);
  let operator: { authorization: string } | undefined;
  beforeAll(async () => {
    operator = await operatorHeaders(gatewayApp.app);
  });
  return {
    world: gatewayApp.world,
    db: gatewayApp.db,
    get app(): FastifyInstance {
      return gatewayApp.app;
    },
    get operator(): { authorization: string } {
      if (!operator) throw new Error('the operator is ready only inside tests');
      return operator;
    },
  };
}

/**
 * The orders of `kind` the gateway executed (by the simulator's truth) against the order numbers
 * of the ledger transactions whose idempotency key is LIKE `keyPattern`: the same, each once.
 */
export async function expectLedgerBooksExecuted(
  world: GatewayWorld,
  db: TestDatabase,
  kind: 'PAYOUT' | 'COLLECTION',
  keyPattern: string,
): Promise<void> {
  const executed = world.simulator
    .truth()
    .filter((o) => o.kind === kind && o.status === 'SUCCESS')
    .map((o) => o.orderNo)
    .sort();
  const { rows } = await db.pool.query(
    `SELECT metadata->>'orderNo' AS order_no FROM ledger_transactions WHERE idempotency_key LIKE $1 ORDER BY 1`,
    [keyPattern],
  );
  expect(rows.map((r) => r.order_no)).toEqual(executed);
}
