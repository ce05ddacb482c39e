// Replays every committed history against today's workflow code: a nondeterministic change fails
// here.
import { Worker } from '@temporalio/worker';
import * as workflows from '../../workflows';
import { workflowBundle } from '../helpers/temporal';
import { loadHistories } from './histories';

const histories = loadHistories();

it('has at least one recorded history for every workflow type', () => {
  const recorded = new Set(histories.map((h) => h.workflowType));
  const missing = Object.keys(workflows).filter((type) => !recorded.has(type));
  expect(missing).toEqual([]);
});

it.each(histories.map((h) => [h.file, h] as const))(
  'replays %s without nondeterminism',
  async (_file, recorded) => {
    await Worker.runReplayHistory(
      { workflowBundle: await workflowBundle() },
      recorded.history,
      recorded.workflowId,
    );
  },
);
