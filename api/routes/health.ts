import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app';
import { errorBody } from '../errors';
import { ERROR_RESPONSE } from '../schemas';

export function registerHealthRoutes(app: FastifyInstance, { pool, metrics }: AppContext): void {
  app.get('/healthz', { schema: { security: [], response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } }, 503: ERROR_RESPONSE } } }, async (_request, reply) => {
    try {
      await pool.query('SELECT 1');
      return { ok: true };
    } catch {
      return reply.status(503).send(errorBody('DATABASE_UNAVAILABLE', 'the database does not answer'));
    }
  });
  app.get('/metrics', { schema: { security: [], hide: true } }, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
