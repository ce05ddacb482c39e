/** GET /v1/statements/:date (YYYY-MM-DD, UTC): the day's statement CSV, streamed. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isStatementDate, statementStream } from './statement';
import type { StatementAdjustments } from './statement-adjustments';

export function registerStatementRoute(
  app: FastifyInstance,
  deps: {
    journalPath: string;
    adjustments: StatementAdjustments;
    preValidation: (
      request: FastifyRequest,
      reply: FastifyReply,
    ) => Promise<FastifyReply | undefined>;
  },
): void {
  app.get<{ Params: { date: string } }>(
    '/v1/statements/:date',
    { preValidation: deps.preValidation },
    async (request, reply) => {
      if (!isStatementDate(request.params.date))
        return reply.code(400).send({ code: 'INVALID_DATE', message: 'date must be YYYY-MM-DD' });
      return reply
        .type('text/csv; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="statement-${request.params.date}.csv"`,
        )
        .send(statementStream(deps.journalPath, request.params.date, deps.adjustments));
    },
  );
}
