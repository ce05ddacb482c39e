// POST /v1/bank-accounts/reseal (admin): one batch of the reseal (payments/bank-account-reseal.ts):
// accounts under an old key sealed under the current one, numbers in clear put on file and cleared.
// The operator's `npm run ops -- bank-accounts reseal` calls it until nothing remains.
import type { FastifyInstance } from 'fastify';
import { inTransaction } from '../../db/pool';
import { resealBatch } from '../../payments/bank-account-reseal';
import type { AppContext } from '../app';
import { actorOf, requireRole } from '../auth';
import { AUTH_ERRORS } from '../schemas';

const COUNT = { type: 'integer', minimum: 0 } as const;

export function registerBankAccountResealRoute(app: FastifyInstance, { pool }: AppContext): void {
  app.post<{ Body: { limit?: number } | undefined }>(
    '/v1/bank-accounts/reseal',
    {
      schema: {
        summary:
          'reseal one batch of bank account numbers under the current key; clear legacy ones',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              resealed: COUNT,
              partiesFiled: COUNT,
              ordersCleared: COUNT,
              remaining: { ...COUNT, description: 'rows left to do; 0 when done' },
            },
            required: ['resealed', 'partiesFiled', 'ordersCleared', 'remaining'],
          },
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      requireRole(request.principal, ['admin']);
      const limit = request.body?.limit ?? 100;
      return inTransaction(pool, (tx) =>
        resealBatch(tx, { limit, actor: actorOf(request.principal), requestId: request.id }),
      );
    },
  );
}
