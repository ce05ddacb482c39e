import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PoolClient } from 'pg';
import type { AppContext } from './app';
import { runIdempotent } from './idempotency';

/** Runs a money-moving handler under the request's Idempotency-Key and sends its (possibly replayed) response. */
export async function replyIdempotent(
  { pool, metrics }: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  handler: (tx: PoolClient) => Promise<{ statusCode: number; body: unknown }>,
): Promise<FastifyReply> {
  const key = request.headers['idempotency-key'];
  const result = await runIdempotent(pool, {
    scope: request.principal.keyId,
    key: typeof key === 'string' ? key : undefined,
    method: request.method,
    url: request.url,
    body: request.body,
  }, handler);
  if (result.replayed) {
    metrics.idempotentReplays.inc();
    reply.header('idempotency-replayed', 'true');
  }
  return reply.status(result.statusCode).send(result.body);
}
