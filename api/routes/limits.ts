// Limits (API.md, issue 19 item 7): what one investor may hold of a loan and withdraw a day, a
// month and at once. Operators see them; an admin changes one, with a reason, audited with the old
// and new value (payments/limits.ts). The changed limit applies to the next request.
import type { FastifyInstance } from 'fastify';
import { inTransaction } from '../../db/pool';
import { formatAmount, parseAmount } from '../../ledger/money';
import {
  LIMIT_NAMES,
  readLimits,
  setLimit,
  type Limit,
  type LimitName,
} from '../../payments/limits';
import type { AppContext } from '../app';
import { actorOf, requireRole } from '../auth';
import { documentedList, documentedObject } from '../contract';
import { ApiError } from '../errors';
import { AMOUNT, AUTH_ERRORS } from '../schemas';

const LIMIT_FIELDS = {
  name: LIMIT_NAMES.join(', '),
  amount: 'the limit, or null for none',
  currency: 'ISO 4217',
  changedBy: 'the key that set it',
  changedAt: 'ISO time',
};

const view = (l: Limit) => ({
  name: l.name,
  amount: l.amountMinor === null ? null : formatAmount(l.amountMinor, l.currency),
  currency: l.currency,
  changedBy: l.changedBy,
  changedAt: l.changedAt.toISOString(),
});

export function registerLimitRoutes(app: FastifyInstance, { pool }: AppContext): void {
  app.get(
    '/v1/limits',
    {
      schema: {
        summary:
          'the limits in force: per investor per loan, and withdrawals a day, a month, at once',
        response: { 200: documentedList('the limits', LIMIT_FIELDS), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      requireRole(request.principal, ['operator', 'admin']);
      return (await readLimits(pool)).map(view);
    },
  );
  app.post<{ Params: { name: LimitName }; Body: { amount: string | null; reason: string } }>(
    '/v1/limits/:name',
    {
      schema: {
        summary: 'set a limit (amount null lifts it), audited with its old value',
        params: {
          type: 'object',
          // checked after the role, so a wrong role is 403 whatever the name
          properties: { name: { type: 'string', minLength: 1, maxLength: 64 } },
          required: ['name'],
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['amount', 'reason'],
          properties: {
            amount: { anyOf: [AMOUNT, { type: 'null' }] },
            reason: { type: 'string', minLength: 3, maxLength: 500 },
          },
        },
        response: { 200: documentedObject('the limit as it now is', LIMIT_FIELDS), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      requireRole(request.principal, ['admin']);
      if (!(LIMIT_NAMES as readonly string[]).includes(request.params.name))
        throw new ApiError(
          404,
          'NOT_FOUND',
          `no limit ${request.params.name}: ${LIMIT_NAMES.join(', ')}`,
        );
      const current = (await readLimits(pool)).find((l) => l.name === request.params.name);
      const currency = current?.currency ?? 'CNY';
      const amountMinor =
        request.body.amount === null ? null : parseAmount(request.body.amount, currency);
      const changed = await inTransaction(pool, (tx) =>
        setLimit(tx, {
          name: request.params.name,
          amountMinor,
          actor: actorOf(request.principal),
          reason: request.body.reason,
          requestId: request.id,
        }),
      );
      return view(changed);
    },
  );
}
