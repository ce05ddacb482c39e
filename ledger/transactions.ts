// Writes: every function is one round trip to one SQL function, in one Postgres transaction.
import { validateAccountPath } from './accounts';
import { contentHash } from './canonical-json';
import { currencyScale } from './currency';
import { isRetryable } from '../db/errors';
import { LedgerError, toLedgerError } from './errors';
import { MAX_MINOR } from './money';
import type { Leg, Metadata, Queryable, TransactionResult } from './types';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,200}$/;
/**
 * Deadlocks cannot happen with ordered locking, but if Postgres ever reports one, retry a bounded
 * number of times.
 */
const RETRIES_MAX = 3;
/**
 * How often a write was retried after a deadlock or serialization failure: should stay 0, and tests
 * check it.
 */
export const writeStats = { retries: 0 };

export interface PostInput {
  idempotencyKey: string;
  legs: Leg[];
  metadata?: Metadata;
}

export interface TransferInput {
  idempotencyKey: string;
  from: string;
  to: string;
  amount: bigint;
  currency: string;
  metadata?: Metadata;
}

export interface HoldInput extends TransferInput {
  /** After this instant the hold can no longer be posted, and expirePending() voids it. */
  expiresAt?: Date;
}

export interface ClosePendingInput {
  idempotencyKey: string;
  pendingId: string;
  metadata?: Metadata;
}

export interface PostPendingInput extends ClosePendingInput {
  /** Post less than was held (two-leg transfers only); the rest is released. Default: all of it. */
  amount?: bigint;
}

export interface ReverseInput {
  idempotencyKey: string;
  transactionId: string;
  metadata?: Metadata;
}

/** The two legs of a simple transfer: debit `from`, credit `to`. */
export function transferLegs(t: Pick<TransferInput, 'from' | 'to' | 'amount' | 'currency'>): Leg[] {
  return [
    { account: t.from, direction: 'debit', amount: t.amount, currency: t.currency },
    { account: t.to, direction: 'credit', amount: t.amount, currency: t.currency },
  ];
}

/** A post checked and hashed, as the SQL functions take it. */
export interface PreparedPost {
  key: string;
  hash: string;
  /** JSON array of {account, direction: 'D'|'C', amount, currency}. */
  legs: string;
  metadata: Metadata;
}

/** Validates a post and computes its content hash (the same for a single post and in a batch). */
export function preparePost(input: PostInput): PreparedPost {
  const legs = validateLegs(input.legs);
  validateKey(input.idempotencyKey);
  const metadata = input.metadata ?? {};
  return {
    key: input.idempotencyKey,
    hash: contentHash({ op: 'post', legs: input.legs, metadata }),
    legs,
    metadata,
  };
}

/** Posts a balanced transaction of any number of legs. */
export function post(db: Queryable, input: PostInput): Promise<TransactionResult> {
  const p = preparePost(input);
  return call(db, 'SELECT o_id, o_replayed FROM ledger_post($1, $2, $3, $4)', [
    p.key,
    p.hash,
    p.legs,
    JSON.stringify(p.metadata),
  ]);
}

export function transfer(db: Queryable, input: TransferInput): Promise<TransactionResult> {
  return post(db, {
    idempotencyKey: input.idempotencyKey,
    legs: transferLegs(input),
    metadata: input.metadata,
  });
}

/**
 * Creates a pending transfer: the amount is held on `from` (not spendable) until posted or voided.
 */
export function hold(db: Queryable, input: HoldInput): Promise<TransactionResult> {
  const legs = transferLegs(input);
  const legsJson = validateLegs(legs);
  validateKey(input.idempotencyKey);
  const metadata = input.metadata ?? {};
  const expiresAt = input.expiresAt?.toISOString() ?? null;
  const hash = contentHash({ op: 'hold', legs, metadata, expiresAt });
  return call(db, 'SELECT o_id, o_replayed FROM ledger_hold($1, $2, $3, $4, $5)', [
    input.idempotencyKey,
    hash,
    legsJson,
    JSON.stringify(metadata),
    expiresAt,
  ]);
}

/** Posts a pending transfer, fully or partially. `now` decides expiry (defaults to the clock). */
export function postPending(
  db: Queryable,
  input: PostPendingInput,
  now: Date = new Date(),
): Promise<TransactionResult> {
  if (input.amount !== undefined) validateAmount(input.amount);
  return closePending(db, input, true, input.amount, now);
}

/** Voids a pending transfer: the held amount is released, nothing is posted. */
export function voidPending(
  db: Queryable,
  input: ClosePendingInput,
  now: Date = new Date(),
): Promise<TransactionResult> {
  return closePending(db, input, false, undefined, now);
}

/** Reverses a posted transaction with a new, linked transaction of mirrored legs. */
export function reverse(db: Queryable, input: ReverseInput): Promise<TransactionResult> {
  validateKey(input.idempotencyKey);
  validateId(input.transactionId);
  const metadata = input.metadata ?? {};
  const hash = contentHash({ op: 'reverse', transactionId: input.transactionId, metadata });
  return call(db, 'SELECT o_id, o_replayed FROM ledger_reverse($1, $2, $3, $4)', [
    input.idempotencyKey,
    hash,
    input.transactionId,
    JSON.stringify(metadata),
  ]);
}

/** Voids every pending transfer whose expiry has passed. Returns how many were voided. */
export async function expirePending(db: Queryable, now: Date = new Date()): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT t.id FROM ledger_transactions t
     WHERE t.kind = 'pending' AND t.expires_at <= $1
       AND NOT EXISTS (SELECT 1 FROM ledger_transactions c WHERE c.pending_id = t.id)
     ORDER BY t.id LIMIT 10000`,
    [now.toISOString()],
  );
  let voided = 0;
  for (const { id } of rows) {
    try {
      const result = await voidPending(
        db,
        { idempotencyKey: `expire:${id}`, pendingId: id, metadata: { reason: 'expired' } },
        now,
      );
      if (!result.replayed) voided += 1;
    } catch (err) {
      // Posted or voided by its owner since the scan: nothing left to expire.
      if (!(err instanceof LedgerError && err.code === 'PENDING_ALREADY_CLOSED')) throw err;
    }
  }
  return voided;
}

function closePending(
  db: Queryable,
  input: ClosePendingInput,
  postIt: boolean,
  amount: bigint | undefined,
  now: Date,
): Promise<TransactionResult> {
  validateKey(input.idempotencyKey);
  validateId(input.pendingId);
  const metadata = input.metadata ?? {};
  const hash = contentHash({
    op: postIt ? 'post_pending' : 'void_pending',
    pendingId: input.pendingId,
    amount,
    metadata,
  });
  return call(db, 'SELECT o_id, o_replayed FROM ledger_close_pending($1, $2, $3, $4, $5, $6, $7)', [
    input.idempotencyKey,
    hash,
    input.pendingId,
    postIt,
    amount?.toString() ?? null,
    JSON.stringify(metadata),
    now.toISOString(),
  ]);
}

async function call(db: Queryable, sql: string, params: unknown[]): Promise<TransactionResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { rows } = await db.query<{ o_id: string; o_replayed: boolean }>(sql, params);
      return { transactionId: rows[0].o_id, replayed: rows[0].o_replayed };
    } catch (err) {
      if (attempt < RETRIES_MAX && isRetryable(err)) {
        writeStats.retries += 1;
        continue;
      }
      throw toLedgerError(err);
    }
  }
}

function validateKey(key: string): void {
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new LedgerError(
      'INVALID_INPUT',
      'idempotency key must be 1-200 characters of [A-Za-z0-9_.:-]',
    );
  }
}

function validateId(id: string): void {
  if (typeof id !== 'string' || !/^[1-9]\d{0,18}$/.test(id))
    throw new LedgerError('INVALID_INPUT', `invalid transaction id: ${String(id).slice(0, 40)}`);
}

function validateAmount(amount: bigint): void {
  if (typeof amount !== 'bigint' || amount <= 0n || amount > MAX_MINOR) {
    throw new LedgerError(
      'INVALID_INPUT',
      `amount must be a positive bigint of minor units, got ${String(amount)}`,
    );
  }
}

/** Checks legs before they reach the database (which checks again) and serialises them for it. */
function validateLegs(legs: readonly Leg[]): string {
  if (!Array.isArray(legs) || legs.length < 2)
    throw new LedgerError('INVALID_INPUT', 'a transaction needs at least two legs');
  const net = new Map<string, bigint>();
  for (const leg of legs) {
    validateAccountPath(leg.account);
    validateAmount(leg.amount);
    currencyScale(leg.currency);
    if (leg.direction !== 'debit' && leg.direction !== 'credit')
      throw new LedgerError('INVALID_INPUT', `invalid direction: ${String(leg.direction)}`);
    const signed = leg.direction === 'debit' ? leg.amount : -leg.amount;
    net.set(leg.currency, (net.get(leg.currency) ?? 0n) + signed);
  }
  for (const [currency, difference] of net) {
    if (difference !== 0n)
      throw new LedgerError(
        'UNBALANCED',
        `debits and credits differ by ${difference} minor units in ${currency}`,
      );
  }
  return JSON.stringify(
    legs.map((l) => ({
      account: l.account,
      direction: l.direction === 'debit' ? 'D' : 'C',
      amount: l.amount.toString(),
      currency: l.currency,
    })),
  );
}
