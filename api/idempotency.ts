// The Idempotency-Key contract of API.md: the same key and body replays the first response; the
// same key with another body is 422; a duplicate while the first still runs is 409.
import type { Pool, PoolClient } from 'pg';
import { contentHash } from '../ledger/canonical-json';
import { ApiError, toApiError } from './errors';
import type { Queryable } from '../ledger/types';

const KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

export interface StoredResponse {
  statusCode: number;
  body: unknown;
  replayed: boolean;
}

export interface IdempotentRequest {
  scope: string;
  key: string | undefined;
  method: string;
  url: string;
  body: unknown;
}

export interface Response {
  statusCode: number;
  body: unknown;
}

interface Claim {
  locked: boolean;
  request_hash: string | null;
  response_status: number | null;
  response_body: unknown;
}

/**
 * Runs `handler` at most once per (caller, key), in one Postgres transaction with the stored
 * response: a crash leaves both or neither. A transaction-scoped advisory lock on the key tells a
 * concurrent duplicate (409) from a repeat (replay). Refusals (4xx) are stored and replayed too;
 * an unexpected error stores nothing, so the client can retry.
 */
export async function runIdempotent(
  pool: Pool,
  request: IdempotentRequest,
  handler: (tx: PoolClient) => Promise<Response>,
): Promise<StoredResponse> {
  const { scope } = request;
  const key = validIdempotencyKey(request.key);
  const hash = requestHash(request);

  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    const first = await claim(tx, scope, key, hash);
    if (first) {
      await tx.query('ROLLBACK');
      return first;
    }
    let response: Response;
    try {
      response = await handler(tx);
      await storeResponse(tx, scope, key, hash, response);
      await tx.query('COMMIT');
      return { ...response, replayed: false };
    } catch (err) {
      const refusal = toApiError(err);
      if (!refusal || refusal.statusCode >= 500) throw err;
      // A refusal writes nothing of the handler's: start over and store only the refusal.
      await tx.query('ROLLBACK');
      response = {
        statusCode: refusal.statusCode,
        body: { error: { code: refusal.code, message: refusal.message, details: refusal.details } },
      };
      await tx.query('BEGIN');
      const again = await claim(tx, scope, key, hash);
      if (again) {
        await tx.query('ROLLBACK');
        return again;
      }
      await storeResponse(tx, scope, key, hash, response);
      await tx.query('COMMIT');
      return { ...response, replayed: false };
    }
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    tx.release();
  }
}

/** The Idempotency-Key header, checked: 400 when missing or malformed. */
export function validIdempotencyKey(key: string | undefined): string {
  if (key === undefined)
    throw new ApiError(
      400,
      'IDEMPOTENCY_KEY_REQUIRED',
      'this request moves money or creates something: send an Idempotency-Key header',
    );
  if (!KEY.test(key))
    throw new ApiError(
      400,
      'IDEMPOTENCY_KEY_INVALID',
      'Idempotency-Key must be 1-128 characters of [A-Za-z0-9_.:-]',
    );
  return key;
}

/** What "the same request" means: method, URL and body. */
export function requestHash(request: { method: string; url: string; body: unknown }): string {
  return contentHash({ method: request.method, url: request.url, body: request.body ?? null });
}

/**
 * Takes the key's lock, then looks for a stored response: returns it (replay), or throws 409/422,
 * or undefined to go on. Two statements, in this order: the lookup's snapshot is taken after the
 * lock, so a first request that committed (and released the lock) just before is always seen, and
 * its duplicate replays it instead of running again into the primary key.
 */
async function claim(
  tx: PoolClient,
  scope: string,
  key: string,
  hash: string,
): Promise<StoredResponse | undefined> {
  const {
    rows: [{ locked }],
  } = await tx.query<{ locked: boolean }>(
    `SELECT pg_try_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 0)) AS locked`,
    [scope, key],
  );
  const stored = await storedResponse(tx, scope, key, hash);
  if (stored) return stored;
  if (!locked)
    throw new ApiError(
      409,
      'IDEMPOTENCY_KEY_IN_USE',
      'a request with this Idempotency-Key is still running',
    );
  return undefined;
}

/**
 * The response stored under the key (a replay), none, or 422 when the key was used with another
 * request.
 */
export async function storedResponse(
  db: Queryable,
  scope: string,
  key: string,
  hash: string,
): Promise<StoredResponse | undefined> {
  const {
    rows: [row],
  } = await db.query<Omit<Claim, 'locked'>>(
    'SELECT request_hash, response_status, response_body FROM api_idempotency WHERE scope = $1 AND key = $2',
    [scope, key],
  );
  if (row && row.request_hash !== hash) {
    throw new ApiError(
      422,
      'IDEMPOTENCY_KEY_REUSED',
      'this Idempotency-Key was used with a different request',
    );
  }
  return row
    ? { statusCode: row.response_status as number, body: row.response_body, replayed: true }
    : undefined;
}

const STORE =
  'INSERT INTO api_idempotency (scope, key, request_hash, response_status, response_body) VALUES ($1, $2, $3, $4, $5)';
const STORE_IF_ABSENT = `${STORE} ON CONFLICT (scope, key) DO NOTHING`;

/**
 * Stores the response under the key; with `ifAbsent`, a response stored first by a concurrent
 * duplicate wins (false).
 */
export async function storeResponse(
  db: Queryable,
  scope: string,
  key: string,
  hash: string,
  response: Response,
  options: { ifAbsent?: boolean } = {},
): Promise<boolean> {
  const { rowCount } = await db.query(options.ifAbsent ? STORE_IF_ABSENT : STORE, [
    scope,
    key,
    hash,
    response.statusCode,
    JSON.stringify(response.body),
  ]);
  return rowCount === 1;
}
