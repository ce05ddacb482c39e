// Issue 17, item 6: a workflow test with mocked activities, where a state table says more than the
// full stack (as Temporal's workflows-mocks sample does). The payout workflow's outcome table: what
// the gateway answers to the submit and to each query, and what the workflow then does to the
// ledger and to the gateway. On a real dev server (the workflow sets search attributes, which the
// time-skipping server does not know), with a short query backoff.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { payoutWorkflow } from '../../workflows';
import type { GatewayOutcome } from '../../workflows/contracts/gateway-order';
import type { PayoutState } from '../../workflows/contracts/payout';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import { createDevServerEnv, workflowBundle } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createDevServerEnv();
}, 120_000);
afterAll(() => env?.teardown());

const ok: GatewayOutcome = { kind: 'succeeded' };
const refused: GatewayOutcome = { kind: 'failed', code: 'INSUFFICIENT_FUNDS' };
const timeout: GatewayOutcome = { kind: 'unknown', reason: 'timeout' };
const notSent: GatewayOutcome = { kind: 'not_sent', reason: 'connection refused' };
const processing: GatewayOutcome = { kind: 'processing' };
const notFound: GatewayOutcome = { kind: 'not_found' };

/**
 * Activities that answer from a script and record what the workflow asked of the ledger and the
 * gateway.
 */
function scripted(submits: GatewayOutcome[], queries: GatewayOutcome[]) {
  const calls: string[] = [];
  const next = (list: GatewayOutcome[], what: string) => {
    calls.push(what);
    return list.length > 1 ? (list.shift() as GatewayOutcome) : list[0];
  };
  const activities = {
    payoutOrderNo: async () => 'po-table',
    submitPayout: async () => next(submits, 'submit'),
    queryPayout: async () => next(queries, 'query'),
    postPayout: async () => {
      calls.push('post');
    },
    voidPayout: async () => {
      calls.push('void');
    },
    setPayoutStatus: async (_id: string, status: string) => {
      calls.push(`status ${status}`);
    },
  };
  return { calls, activities };
}

const POLICY = { attempts: 3, initialIntervalMs: 100, maxIntervalMs: 200 };

// submit answers, query answers → the end state and what was done, in order.
const TABLE: [string, GatewayOutcome[], GatewayOutcome[], PayoutState, string[]][] = [
  ['executed', [ok], [], 'SUCCEEDED', ['submit', 'post']],
  ['refused with a definitive code', [refused], [], 'FAILED', ['submit', 'void']],
  [
    'not sent, then sent and executed (only a request that never left is sent again)',
    [notSent, ok],
    [],
    'SUCCEEDED',
    ['submit', 'submit', 'post'],
  ],
  [
    'timed out, then found executed by a query (never sent again)',
    [timeout],
    [processing, ok],
    'SUCCEEDED',
    ['submit', 'query', 'query', 'post'],
  ],
  [
    'timed out, then unknown to the gateway (it never got it)',
    [timeout],
    [notFound],
    'FAILED',
    ['submit', 'query', 'void'],
  ],
  [
    'timed out, then refused by a query',
    [timeout],
    [refused],
    'FAILED',
    ['submit', 'query', 'void'],
  ],
];

it.each(TABLE)('%s', async (_row, submits, queries, state, calls) => {
  const script = scripted([...submits], [...queries]);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: script.activities,
  });
  const result = await worker.runUntil(
    env.client.workflow.execute(payoutWorkflow, {
      taskQueue: TASK_QUEUE,
      workflowId: `table-${Math.random()}`,
      args: [{ payoutId: 'p-table', partyId: 'inv', queryPolicy: POLICY }],
    }),
  );
  expect({ state: result, calls: script.calls }).toEqual({ state, calls });
});

it('unknown after every query: waits for an operator in MANUAL_REVIEW, with nothing posted, voided or sent again', async () => {
  const script = scripted([timeout], [processing]);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: script.activities,
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(payoutWorkflow, {
      taskQueue: TASK_QUEUE,
      workflowId: `table-review-${Math.random()}`,
      args: [{ payoutId: 'p-review', partyId: 'inv', queryPolicy: POLICY }],
    });
    const deadline = Date.now() + 30_000;
    while (!script.calls.includes('status MANUAL_REVIEW')) {
      if (Date.now() > deadline)
        throw new Error(`never reached MANUAL_REVIEW: ${script.calls.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(script.calls).toEqual(['submit', 'query', 'query', 'query', 'status MANUAL_REVIEW']);
    await handle.terminate('the table ends here');
  });
});
