// The outbox's writers: a workflow start or a signal, committed in the caller's transaction with
// the business fact it belongs to; the dispatcher (worker/outbox-dispatcher.ts) delivers it.
// Typed by the real workflow functions and signal definitions: a renamed workflow or a changed
// input fails the type check here, instead of leaving rows that nothing can start.
import type { SignalDefinition } from '@temporalio/common';
import type { Queryable } from '../ledger/types';
import type * as workflows from '../workflows';

export type WorkflowType = keyof typeof workflows;
export type WorkflowInput<W extends WorkflowType> = Parameters<(typeof workflows)[W]>[0];

export async function enqueueStart<W extends WorkflowType>(
  tx: Queryable,
  workflowType: W,
  workflowId: string,
  input: WorkflowInput<W>,
): Promise<void> {
  await tx.query(
    `INSERT INTO outbox (action, workflow_type, workflow_id, payload) VALUES ('start', $1, $2, $3)`,
    [workflowType, workflowId, JSON.stringify(input)],
  );
}

/** A signal with no arguments (the dispatcher sends none). */
export async function enqueueSignal(
  tx: Queryable,
  workflowId: string,
  signal: SignalDefinition<[]>,
): Promise<void> {
  await tx.query(
    `INSERT INTO outbox (action, workflow_id, signal_name) VALUES ('signal', $1, $2)`,
    [workflowId, signal.name],
  );
}
