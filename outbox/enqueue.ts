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

/** How a signal's row is delivered: `dropIfClosed` for display only (see migration 0030). */
export interface SignalOptions {
  dropIfClosed?: boolean;
}

/** A signal with no arguments. */
export async function enqueueSignal(
  tx: Queryable,
  workflowId: string,
  signal: SignalDefinition<[]>,
): Promise<void>;
/** A signal with its arguments (JSON: the dispatcher sends them as they were committed). */
export async function enqueueSignal<A extends unknown[]>(
  tx: Queryable,
  workflowId: string,
  signal: SignalDefinition<A>,
  args: A,
  options?: SignalOptions,
): Promise<void>;
export async function enqueueSignal(
  tx: Queryable,
  workflowId: string,
  signal: SignalDefinition<unknown[]>,
  args?: unknown[],
  options: SignalOptions = {},
): Promise<void> {
  await tx.query(
    `INSERT INTO outbox (action, workflow_id, signal_name, args, drop_if_closed)
     VALUES ('signal', $1, $2, $3, $4)`,
    [workflowId, signal.name, args ? JSON.stringify(args) : null, options.dropIfClosed ?? false],
  );
}

/**
 * A signal that starts its workflow with `input` when it is not there yet (its start row not
 * dispatched yet). For a workflow that ends only on this signal: one already closed had it, and
 * the row counts as delivered.
 */
export async function enqueueSignalWithStart<W extends WorkflowType, A extends unknown[]>(
  tx: Queryable,
  workflowType: W,
  workflowId: string,
  input: WorkflowInput<W>,
  signal: SignalDefinition<A>,
  args: A,
): Promise<void> {
  await tx.query(
    `INSERT INTO outbox (action, workflow_type, workflow_id, payload, signal_name, args)
     VALUES ('signal_with_start', $1, $2, $3, $4, $5)`,
    [workflowType, workflowId, JSON.stringify(input), signal.name, JSON.stringify(args)],
  );
}
