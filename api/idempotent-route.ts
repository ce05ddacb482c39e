import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PoolClient } from 'pg';
import type { AppContext } from './app';
import { runIdempotent, type StoredResponse } from './idempotency';

/**
 * Runs a money-moving handler under the request's Idempotency-Key and sends its (possibly replayed)
 * response.
 */
export async function replyIdempotent(
  { pool, metrics }: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  handler: (tx: PoolClient) => Promise<{ statusCode: number; body: unknown }>,
): Promise<FastifyReply> {
  const key = request.headers['idempotency-key'];
  const result = await runIdempotent(
    pool,
    {
      scope: request.principal.keyId,
      key: typeof key === 'string' ? key : undefined,
      method: request.method,
      url: request.url,
      body: request.body,
    },
    handler,
  );
  return sendStored({ metrics }, reply, result);
}

/**
 * Sends a response that may be a replay of the one stored under the Idempotency-Key (counted and
 * marked so).
 */
export function sendStored(
  { metrics }: Pick<AppContext, 'metrics'>,
  reply: FastifyReply,
  result: StoredResponse,
): FastifyReply {
  if (result.replayed) {
    metrics.idempotentReplays.inc();
    reply.header('idempotency-replayed', 'true');
  }
  return reply.status(result.statusCode).send(result.body);
}
