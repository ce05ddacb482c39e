// Drains the outbox into Temporal at Temporal's pace. The API committed the business fact and an
// outbox row together; here each row becomes a workflow start (deterministic id: a second start is
// harmless) or a signal, and is deleted only once Temporal has it. A crash anywhere leaves the row
// for the next pass, never an orphan. A row that can never be delivered (a signal to a workflow
// that already finished) is moved to outbox_dead_letters with an alert, not retried forever.
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import { SearchAttributes, TASK_QUEUE } from '../workflows/contracts/common';

interface OutboxRow {
  id: string;
  action: 'start' | 'signal' | 'signal_with_start';
  workflow_type: string | null;
  workflow_id: string;
  signal_name: string | null;
  payload: Record<string, string>;
  /** The signal's arguments (migration 0030); null: none. */
  args: unknown[] | null;
  drop_if_closed: boolean;
  attempts: number;
}

/** The row can never be delivered: it is dead-lettered, not retried. */
class Undeliverable extends Error {
  override readonly name = 'Undeliverable';
}

/** A row Temporal did not take this pass: retried after a backoff. */
interface FailedRow {
  id: string;
  error: string;
  attempts: number;
}

/** A row that can never be delivered, and why. */
interface DeadRow {
  row: OutboxRow;
  reason: string;
}

interface SendOutcomes {
  /** Ids of the rows Temporal has. */
  done: string[];
  failed: FailedRow[];
  dead: DeadRow[];
}

/**
 * In the pass's transaction: the delivered rows deleted, the undeliverable ones moved to
 * outbox_dead_letters, the failed ones put off.
 */
async function settleRows(
  tx: PoolClient,
  done: string[],
  failed: FailedRow[],
  dead: DeadRow[],
): Promise<void> {
  if (done.length) await tx.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [done]);
  for (const d of dead) {
    await tx.query(
      `WITH moved AS (DELETE FROM outbox WHERE id = $1 RETURNING *)
           INSERT INTO outbox_dead_letters (id, action, workflow_type, workflow_id, signal_name, payload, args, created_at, attempts, reason)
           SELECT id, action, workflow_type, workflow_id, signal_name, payload, args, created_at, attempts + 1, $2 FROM moved`,
      [d.row.id, d.reason],
    );
  }
  for (const f of failed) {
    // Back off: 1 s, 2 s, 4 s ... at most a minute. A signal to a workflow not started yet
    // lands here.
    await tx.query(
      `UPDATE outbox SET attempts = $2, last_error = $3, not_before = now() + make_interval(secs => least(60, power(2, $2 - 1)))
                        WHERE id = $1`,
      [f.id, f.attempts, f.error],
    );
  }
}

/** The search attributes a start sets from its input. */
function startAttributes(row: OutboxRow) {
  return [
    ...(row.payload.loanId ? [{ key: SearchAttributes.LoanId, value: row.payload.loanId }] : []),
    ...(row.payload.investorId
      ? [{ key: SearchAttributes.InvestorId, value: row.payload.investorId }]
      : []),
  ];
}

/** The alert for a dead-lettered row, once its move has committed. */
function alertDeadLettered(d: DeadRow): void {
  console.error(
    JSON.stringify({
      level: 'alert',
      msg: 'outbox row dead-lettered',
      outboxId: d.row.id,
      workflowId: d.row.workflow_id,
      signal: d.row.signal_name,
      reason: d.reason,
    }),
  );
}

export interface DispatcherOptions {
  batchSize?: number;
  /** Temporal calls in flight at once. */
  parallel?: number;
}

export class OutboxDispatcher {
  readonly stats = {
    started: 0,
    alreadyStarted: 0,
    signalled: 0,
    failed: 0,
    deadLettered: 0,
    /** Display-only signals to a workflow that ended meanwhile: moot, dropped. */
    dropped: 0,
  };
  private readonly batchSize: number;
  private readonly parallel: number;

  constructor(
    private readonly pool: Pool,
    private readonly temporal: Client,
    options: DispatcherOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 200;
    this.parallel = options.parallel ?? 16;
  }

  /**
   * One pass: claims due rows (SKIP LOCKED, so dispatchers can run side by side), sends them,
   * returns how many.
   */
  async drainOnce(): Promise<number> {
    const tx = await this.pool.connect();
    try {
      await tx.query('BEGIN');
      const { rows } = await tx.query<OutboxRow>(
        `SELECT id, action, workflow_type, workflow_id, signal_name, payload, args, drop_if_closed, attempts FROM outbox
         WHERE not_before <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.batchSize],
      );
      const { done, failed, dead } = await this.sendAll(rows);
      await settleRows(tx, done, failed, dead);
      await tx.query('COMMIT');
      this.stats.failed += failed.length;
      this.stats.deadLettered += dead.length;
      for (const d of dead) alertDeadLettered(d);
      return rows.length;
    } catch (err) {
      await tx.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      tx.release();
    }
  }

  /** Sends the claimed rows, `parallel` at a time, and sorts them by how their sending went. */
  private async sendAll(rows: OutboxRow[]): Promise<SendOutcomes> {
    const done: string[] = [];
    const failed: FailedRow[] = [];
    const dead: DeadRow[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(this.parallel, rows.length) }, async () => {
        while (next < rows.length) {
          const row = rows[next++];
          try {
            await this.send(row);
            done.push(row.id);
          } catch (err) {
            if (err instanceof Undeliverable) dead.push({ row, reason: err.message });
            else
              failed.push({
                id: row.id,
                error: (err as Error).message.slice(0, 500),
                attempts: row.attempts + 1,
              });
          }
        }
      }),
    );
    return { done, failed, dead };
  }

  private async send(row: OutboxRow): Promise<void> {
    if (row.action === 'signal') return this.sendSignal(row);
    if (row.action === 'signal_with_start') return this.sendSignalWithStart(row);
    try {
      await this.temporal.workflow.start(row.workflow_type as string, {
        workflowId: row.workflow_id,
        taskQueue: TASK_QUEUE,
        args: [row.payload],
        // a finished workflow is never run again by a late row
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: startAttributes(row),
      });
      this.stats.started += 1;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // started before (a retry, or signal-with-start): nothing to do
      this.stats.alreadyStarted += 1;
    }
  }

  private async sendSignal(row: OutboxRow): Promise<void> {
    try {
      await this.temporal.workflow
        .getHandle(row.workflow_id)
        .signal(row.signal_name as string, ...(row.args ?? []));
      this.stats.signalled += 1;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // Not found is either "not started yet" (its start row is still queued: retry) or "already
      // closed".
      const status = await this.closedStatus(row.workflow_id);
      if (status && row.drop_if_closed) {
        this.stats.dropped += 1;
        return;
      }
      if (status)
        throw new Undeliverable(
          `${row.workflow_id} already ${status}: signal ${row.signal_name} can never be delivered`,
        );
      throw new Error(`${row.workflow_id} not started yet`);
    }
  }

  /**
   * Signals the workflow, starting it with the row's input if its start row has not been
   * dispatched yet (the start row then finds it started). Closed, with the same id, it had the
   * signal already (it ends only on it): delivered, never run again.
   */
  private async sendSignalWithStart(row: OutboxRow): Promise<void> {
    try {
      await this.temporal.workflow.signalWithStart(row.workflow_type as string, {
        workflowId: row.workflow_id,
        taskQueue: TASK_QUEUE,
        args: [row.payload],
        signal: row.signal_name as string,
        signalArgs: row.args ?? [],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: startAttributes(row),
      });
      this.stats.signalled += 1;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      this.stats.alreadyStarted += 1;
    }
  }

  /**
   * The workflow's final status if it exists and has closed; undefined if it does not exist or
   * still runs.
   */
  private async closedStatus(workflowId: string): Promise<string | undefined> {
    try {
      const { status } = await this.temporal.workflow.getHandle(workflowId).describe();
      return status.name === 'RUNNING' ? undefined : status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** Drains until `signal` aborts: straight on while there is work, polling when idle. */
  async run(signal: AbortSignal, idleMs = 200): Promise<void> {
    while (!signal.aborted) {
      let sent = 0;
      try {
        sent = await this.drainOnce();
      } catch (err) {
        console.error(`[dispatcher] pass failed: ${(err as Error).message}`);
      }
      if (sent === 0) await new Promise((resolve) => setTimeout(resolve, idleMs));
    }
  }
}
