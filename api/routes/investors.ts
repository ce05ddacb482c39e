// An investor's money: GET balance and statement (the investor, or an operator).
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { documentedObject } from '../contract';
import { accountPath, formatAmount, Ledger } from '../../ledger';
import type { AppContext } from '../app';
import { requireOwner, requireRole, type Principal } from '../auth';
import { AUTH_ERRORS, PARTY_ID } from '../schemas';
import { requireParty } from '../require-party';

const PARAMS = { type: 'object', properties: { id: PARTY_ID }, required: ['id'] } as const;

export function registerInvestorRoutes(app: FastifyInstance, { pool }: AppContext): void {
  const ledger = new Ledger(pool);
  registerBalanceRoute(app, pool, ledger);
  registerStatementRoute(app, pool, ledger);
}

/** The investor's account, for the investor themself or an operator; anyone else gets 404. */
async function readableInvestorAccount(
  pool: Pool,
  principal: Principal,
  id: string,
): Promise<string> {
  requireRole(principal, ['investor', 'operator', 'admin']);
  requireOwner(principal, id);
  await requireParty(pool, id, 'investor');
  return accountPath.investorAvailable(id);
}

function registerBalanceRoute(app: FastifyInstance, pool: Pool, ledger: Ledger): void {
  app.get<{ Params: { id: string } }>(
    '/v1/investors/:id/balance',
    {
      schema: {
        summary: "an investor's balance",
        params: PARAMS,
        response: {
          200: {
            type: 'object',
            properties: {
              available: { type: 'string' },
              pending: { type: 'string' },
              posted: { type: 'string' },
              currency: { type: 'string' },
            },
          },
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      const account = await readableInvestorAccount(pool, request.principal, request.params.id);
      const b = await ledger.balance(account);
      return {
        available: formatAmount(b.available, b.currency),
        pending: formatAmount(b.pendingDebits, b.currency),
        posted: formatAmount(b.posted, b.currency),
        currency: b.currency,
      };
    },
  );
}

function registerStatementRoute(app: FastifyInstance, pool: Pool, ledger: Ledger): void {
  app.get<{ Params: { id: string }; Querystring: { after?: string; limit?: string } }>(
    '/v1/investors/:id/statement',
    {
      schema: {
        summary: "an investor's posted entries with running balance, paged",
        params: PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'string', pattern: '^[0-9]{1,18}$' },
            limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' },
          },
        },
        response: {
          200: documentedObject('a page of posted entries, oldest first', {
            currency: 'ISO 4217',
            entries:
              '[{id, transactionId, kind, direction, amount, balanceAfter, createdAt, memo}]',
            nextCursor: 'the cursor of the next page, or null',
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      const account = await readableInvestorAccount(pool, request.principal, request.params.id);
      const page = await ledger.statement(account, {
        after: request.query.after,
        limit: request.query.limit ? Number(request.query.limit) : 50,
      });
      return {
        currency: page.currency,
        entries: page.entries.map((e) => ({
          id: e.postingId,
          transactionId: e.transactionId,
          kind: e.kind,
          direction: e.direction,
          amount: formatAmount(e.amount, page.currency),
          balanceAfter: formatAmount(e.balanceAfter, page.currency),
          createdAt: e.createdAt.toISOString(),
          memo: typeof e.metadata.memo === 'string' ? e.metadata.memo : undefined,
        })),
        nextCursor: page.nextCursor,
      };
    },
  );
}
