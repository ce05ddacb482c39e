// The world of a payment test: the real gateway simulator, a real Temporal dev server and a
// worker whose activities reach both, on the test file's own database.
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { parseFault } from '../../gateway/simulator/faults';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { reviewEvidenceQuery, type ReviewEvidence } from '../../workflows/shared';
import { clientFor, startTestSimulator, tempDir } from '../gateway/helpers';
import type { TestDatabase } from './postgres';
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
    this.worker = await createWorker(this.envValue, db, clientFor(this.simulatorValue.url, { requestTimeoutMs: 300 }));
    this.workerRun = this.worker.run();
  }

  /** Register with afterAll before the database's hooks: the worker must stop before its pool closes. */
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
export async function untilEvidence(handle: WorkflowHandle, check: (e: ReviewEvidence) => boolean): Promise<ReviewEvidence> {
  for (let i = 0; i < 300; i++) {
    const evidence = await handle.query(reviewEvidenceQuery);
    if (check(evidence)) return evidence;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${handle.workflowId}`);
}
