// A worker interceptor that makes an activity's first attempt fail after it ran: its transaction
// committed, its reply never reached the workflow, as a crash between commit and reply would.
// Temporal then retries it, which is what idempotent activities must survive.
import type { Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  Next,
} from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { GatewayClientOptions } from '../../gateway/client';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import { clientFor, startTestSimulator, tempDir } from '../gateway/helpers';
import { useTestDatabase, type TestDatabase } from './postgres';
import { createDevServerEnv, workflowBundle } from './temporal';

export interface LostReplies {
  /** Where a first attempt's reply was lost: the workflow id of each. */
  readonly lost: string[];
  /** For Worker.create({ interceptors: { activity: [factory] } }). */
  readonly factory: (ctx: Context) => { inbound: ActivityInboundCallsInterceptor };
}

/** Loses the first attempt's reply of the activities `lose` picks (by type and arguments). */
export function loseFirstReply(
  lose: (activityType: string, args: unknown[]) => boolean,
): LostReplies {
  const lost: string[] = [];
  const factory = (ctx: Context) => ({
    inbound: {
      async execute(
        input: ActivityExecuteInput,
        next: Next<ActivityInboundCallsInterceptor, 'execute'>,
      ): Promise<unknown> {
        const result = await next(input);
        if (ctx.info.attempt === 1 && lose(ctx.info.activityType, input.args)) {
          lost.push(ctx.info.workflowExecution?.workflowId ?? '?');
          throw new Error('the worker died after the commit, before the reply');
        }
        return result;
      },
    },
  });
  return { lost, factory };
}

/**
 * A test file's own database, gateway simulator, Temporal dev server and a worker whose activities
 * lose the replies `replies` picks; torn down after the file's tests. `gateway` configures the
 * activities' gateway client.
 */
export function useLostReplyWorker(
  replies: LostReplies,
  gateway?: Partial<GatewayClientOptions>,
): {
  db: TestDatabase;
  readonly env: TestWorkflowEnvironment;
  readonly simulator: RunningSimulator;
} {
  const dir = tempDir();
  let env: TestWorkflowEnvironment | undefined;
  let simulator: RunningSimulator | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const db = useTestDatabase();
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
    await simulator?.close();
    dir.remove();
  });
  beforeAll(async () => {
    simulator = await startTestSimulator({ dataDir: dir.path });
    env = await createDevServerEnv();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: await workflowBundle(),
      activities: createActivities({
        pool: db.pool,
        temporal: env.client,
        gateway: clientFor(simulator.url, gateway),
      }),
      interceptors: { activity: [replies.factory] },
    });
    running = worker.run();
  });
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the worker is ready only inside tests');
    return v;
  };
  return {
    db,
    get env() {
      return ready(env);
    },
    get simulator() {
      return ready(simulator);
    },
  };
}
