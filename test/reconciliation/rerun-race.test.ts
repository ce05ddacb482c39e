// Chaos seed 310 (docs/reliability.md, violation 7): a re-run of a day whose run is open signals it
// to re-match; when the run ends between the start that found it open and that signal, the signal
// found it completed and the API answered 500. The interleaving is held open here: the real
// client's start is wrapped so the open run ends right after the start refused a second one. No
// worker runs: the day's run is only ever started, signalled, ended and started again.
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { workflowIds } from '../../ids/workflow-ids';
import { startOrRematch } from '../../api/routes/reconciliations';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import { createDevServerEnv } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(() => env?.teardown());

/** The real client, its start followed at once by the end of the open run it refused to repeat. */
function endingTheOpenRunAfterStart(client: Client): Client {
  const workflow = Object.create(client.workflow) as Client['workflow'];
  workflow.start = (async (...args: Parameters<Client['workflow']['start']>) => {
    try {
      return await client.workflow.start(...args);
    } catch (err) {
      await client.workflow.getHandle(args[1].workflowId).terminate('the run ended meanwhile');
      throw err;
    }
  }) as Client['workflow']['start'];
  return { ...client, workflow } as Client;
}

it('a re-run whose open run ends before the rematch signal starts the day anew instead of failing', async () => {
  const client = env.client;
  const workflowId = workflowIds.reconciliation('default', '2026-11-30');
  const input = { channel: 'default', date: '2026-11-30' };
  const first = await client.workflow.start('reconciliationWorkflow', {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [input],
  });

  expect(await startOrRematch(endingTheOpenRunAfterStart(client), workflowId, input, true)).toBe(
    true,
  );
  const now = await client.workflow.getHandle(workflowId).describe();
  expect(now.runId).not.toBe(first.firstExecutionRunId);
  expect(now.status.name).toBe('RUNNING');
  const firstRun = await client.workflow
    .getHandle(workflowId, first.firstExecutionRunId)
    .describe();
  expect(firstRun.status.name).toBe('TERMINATED');
});

it('a re-run of an open day signals it, and a plain repeat neither signals nor starts', async () => {
  const client = env.client;
  const workflowId = workflowIds.reconciliation('default', '2026-11-29');
  const input = { channel: 'default', date: '2026-11-29' };
  const first = await client.workflow.start('reconciliationWorkflow', {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [input],
  });
  expect(await startOrRematch(client, workflowId, input, false)).toBe(false);
  expect(await startOrRematch(client, workflowId, input, true)).toBe(false);
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes);
  expect(signals).toHaveLength(1);
  expect((await client.workflow.getHandle(workflowId).describe()).runId).toBe(
    first.firstExecutionRunId,
  );
});
