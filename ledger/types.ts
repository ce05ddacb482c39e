import type { Client, Pool, PoolClient } from 'pg';

/** A pool or a client inside a caller's transaction: ledger functions run on either. */
export type Queryable = Pool | PoolClient | Client;

export type Direction = 'debit' | 'credit';

/** One side of a transaction: an amount in minor units debited or credited to an account. */
export interface Leg {
  account: string;
  direction: Direction;
  amount: bigint;
  currency: string;
}

/** Who and why: stored with the transaction (workflow id, operator, reason...). JSON only. */
export type Metadata = Record<string, unknown>;

export interface TransactionResult {
  transactionId: string;
  /**
   * True when the idempotency key was seen before with the same content: nothing new was written.
   */
  replayed: boolean;
}

export interface Balance {
  account: string;
  currency: string;
  /** Posted credits minus debits. */
  posted: bigint;
  pendingDebits: bigint;
  pendingCredits: bigint;
  /** What can be spent: posted minus held debits. */
  available: bigint;
}
