// GET /v1/audit (admin): the audit trail, newest first, paged by `before`.
import type { FastifyInstance } from 'fastify';
import { documentedObject } from '../contract';
import { readAudit } from '../../db/audit';
import type { AppContext } from '../app';
import { requireRole } from '../auth';
import { AUTH_ERRORS } from '../schemas';

export function registerAuditRoutes(app: FastifyInstance, { pool }: AppContext): void {
  app.get<{ Querystring: { before?: string; limit?: string } }>(
    '/v1/audit',
    {
      schema: {
        summary: 'every operator and admin action: who, what, why, when, request id',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            before: { type: 'string', pattern: '^[0-9]{1,18}$' },
            limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' },
          },
        },
        response: {
          200: documentedObject('audit entries, newest first', {
            entries: '[{id, at, actor, action, subject, reason, requestId, details}]',
            nextBefore: 'the cursor of the next page, or null',
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      requireRole(request.principal, ['admin']);
      const limit = Math.min(Number(request.query.limit ?? '50'), 200);
      const entries = await readAudit(pool, request.query.before, limit);
      return {
        entries,
        nextBefore: entries.length === limit ? entries[entries.length - 1].id : null,
      };
    },
  );
}
