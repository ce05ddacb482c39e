// The Idempotency-Key contract of API.md: the same key and body replays the first response; the
// same key with another body is 422; a duplicate while the first still runs is 409.
import type { Pool, PoolClient } from 'pg';
import { contentHash } from '../ledger/canonical-json';
import { ApiError, toApiError } from './errors';

const KEY = /^[A-Za-z0-9_.:-]{1,128}$/;
/** A record still in progress after this long was abandoned by a crashed request. */
const IN_PROGRESS_LEASE_S = 60;

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

/**
 * Runs `handler` at most once per (caller, key). The handler's writes and the stored response
 * commit in one Postgres transaction, so a crash leaves either both or neither. Refusals (4xx) are
 * stored and replayed too; an unexpected error stores nothing, so the client can retry.
 */
export async function runIdempotent(
  pool: Pool,
  request: IdempotentRequest,
  handler: (tx: PoolClient) => Promise<{ statusCode: number; body: unknown }>,
): Promise<StoredResponse> {
  const { key, scope } = request;
  if (key === undefined) throw new ApiError(400, 'IDEMPOTENCY_KEY_REQUIRED', 'this request moves money or creates something: send an Idempotency-Key header');
  if (!KEY.test(key)) throw new ApiError(400, 'IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1-128 characters of [A-Za-z0-9_.:-]');
  const requestHash = contentHash({ method: request.method, url: request.url, body: request.body ?? null });

  // Claim the key (committed on its own, so a concurrent duplicate sees it at once).
  const claimed = await pool.query(
    `INSERT INTO api_idempotency (scope, key, request_hash, state, locked_until)
     VALUES ($1, $2, $3, 'in_progress', now() + make_interval(secs => $4))
     ON CONFLICT (scope, key) DO UPDATE SET locked_until = EXCLUDED.locked_until
       WHERE api_idempotency.state = 'in_progress' AND api_idempotency.locked_until < now()
         AND api_idempotency.request_hash = EXCLUDED.request_hash
     RETURNING 1`,
    [scope, key, requestHash, IN_PROGRESS_LEASE_S],
  );
  if (claimed.rowCount === 0) {
    const { rows } = await pool.query<{ request_hash: string; state: string; response_status: number; response_body: unknown }>(
      'SELECT request_hash, state, response_status, response_body FROM api_idempotency WHERE scope = $1 AND key = $2',
      [scope, key],
    );
    const existing = rows[0];
    if (existing.request_hash !== requestHash) {
      throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request');
    }
    if (existing.state !== 'done') throw new ApiError(409, 'IDEMPOTENCY_KEY_IN_USE', 'a request with this Idempotency-Key is still running');
    return { statusCode: existing.response_status, body: existing.response_body, replayed: true };
  }

  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    let response: { statusCode: number; body: unknown };
    try {
      response = await handler(tx);
    } catch (err) {
      const refusal = toApiError(err);
      if (!refusal || refusal.statusCode >= 500) throw err;
      // A refusal wrote nothing: roll back the handler, then store the refusal for replays.
      await tx.query('ROLLBACK');
      await tx.query('BEGIN');
      response = { statusCode: refusal.statusCode, body: { error: { code: refusal.code, message: refusal.message, details: refusal.details } } };
    }
    await tx.query(
      `UPDATE api_idempotency SET state = 'done', response_status = $3, response_body = $4 WHERE scope = $1 AND key = $2`,
      [scope, key, response.statusCode, JSON.stringify(response.body)],
    );
    await tx.query('COMMIT');
    return { ...response, replayed: false };
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => undefined);
    await pool.query(`DELETE FROM api_idempotency WHERE scope = $1 AND key = $2 AND state = 'in_progress'`, [scope, key]);
    throw err;
  } finally {
    tx.release();
  }
}
