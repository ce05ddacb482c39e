// Group commit for the ledger's hot path: concurrent posts are gathered into batches, each batch
// one call of ledger_post_batch, one Postgres transaction and one WAL flush. Every post still
// succeeds or fails on its own, with the same idempotency and errors as a single post.
import type { Pool } from 'pg';
import { isRetryable } from '../db/errors';
import { toLedgerError } from './errors';
import {
  preparePost,
  transferLegs,
  type PostInput,
  type PreparedPost,
  type TransferInput,
} from './transactions';
import type { TransactionResult } from './types';

export interface BatcherOptions {
  /** Posts per batch at most. */
  maxBatch?: number;
  /** Batches in flight at once (each holds one pool connection). */
  maxInFlight?: number;
}

interface Waiting {
  post: PreparedPost;
  resolve: (r: TransactionResult) => void;
  reject: (e: unknown) => void;
}

interface BatchRow {
  o_index: number;
  o_id: string | null;
  o_replayed: boolean | null;
  o_sqlstate: string | null;
  o_constraint: string | null;
  o_message: string | null;
}

const BATCH_RETRIES_MAX = 3;

/**
 * No timer: a batch leaves as soon as a slot is free, carrying whatever queued meanwhile. One
 * caller alone gets batches of one; many callers get bigger batches as the database gets busier.
 */
export class LedgerBatcher {
  private readonly queue: Waiting[] = [];
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  /** Batches sent, and posts carried: their ratio is the mean batch size. */
  readonly stats = { batches: 0, posts: 0, retries: 0 };

  constructor(
    private readonly pool: Pool,
    options: BatcherOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 200;
    this.maxInFlight = options.maxInFlight ?? 4;
  }

  post(input: PostInput): Promise<TransactionResult> {
    // Validation errors surface here, before anything is queued.
    const post = preparePost(input);
    return new Promise((resolve, reject) => {
      this.queue.push({ post, resolve, reject });
      this.pump();
    });
  }

  transfer(input: TransferInput): Promise<TransactionResult> {
    return this.post({
      idempotencyKey: input.idempotencyKey,
      legs: transferLegs(input),
      metadata: input.metadata,
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight += 1;
      void this.send(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async send(batch: Waiting[]): Promise<void> {
    this.stats.batches += 1;
    this.stats.posts += batch.length;
    const items = JSON.stringify(
      batch.map(({ post }) => ({
        key: post.key,
        hash: post.hash,
        legs: JSON.parse(post.legs),
        metadata: post.metadata,
      })),
    );
    for (let attempt = 1; ; attempt++) {
      try {
        const { rows } = await this.pool.query<BatchRow>('SELECT * FROM ledger_post_batch($1)', [
          items,
        ]);
        for (const row of rows) {
          const waiting = batch[row.o_index];
          if (row.o_sqlstate === null && row.o_id !== null)
            waiting.resolve({ transactionId: row.o_id, replayed: row.o_replayed === true });
          else
            waiting.reject(
              toLedgerError(
                Object.assign(new Error(row.o_message ?? 'post failed'), {
                  code: row.o_sqlstate,
                  constraint: row.o_constraint ?? undefined,
                }),
              ),
            );
        }
        return;
      } catch (err) {
        if (attempt < BATCH_RETRIES_MAX && isRetryable(err)) {
          this.stats.retries += 1;
          continue;
        }
        const error = toLedgerError(err);
        for (const waiting of batch) waiting.reject(error);
        return;
      }
    }
  }
}
