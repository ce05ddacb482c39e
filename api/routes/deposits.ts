// POST /v1/investors/{id}/deposits: a collection from the investor's bank account through the
// gateway. The deposit and its workflow's start commit together (outbox); the money is credited
// by the workflow only on a verified success.
import type { FastifyInstance } from 'fastify';
import { DEFAULT_CURRENCY } from '../../ledger/currency';
import { parseAmount } from '../../ledger/money';
import { requestDeposit } from '../../payments/requests';
import type { AppContext } from '../app';
import { requireOwner, requireRole } from '../auth';
import { replyIdempotent } from '../idempotent-route';
import { AMOUNT, AUTH_ERRORS, ERROR_RESPONSE, IDEMPOTENCY_HEADERS, PARTY_ID } from '../schemas';
import { requireParty } from '../require-party';
import { requireUsableBankAccount } from '../require-bank-account';
import { BANK_ACCOUNT_ID } from './bank-accounts';

interface DepositBody {
  amount: string;
  bankAccountId: string;
}

export function registerDepositRoutes(app: FastifyInstance, context: AppContext): void {
  app.post<{ Params: { id: string }; Body: DepositBody }>(
    '/v1/investors/:id/deposits',
    {
      schema: {
        summary: "collect money from the investor's bank account into their balance",
        params: { type: 'object', properties: { id: PARTY_ID }, required: ['id'] },
        headers: IDEMPOTENCY_HEADERS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['amount', 'bankAccountId'],
          properties: { amount: AMOUNT, bankAccountId: BANK_ACCOUNT_ID },
        },
        response: {
          202: {
            type: 'object',
            properties: {
              depositId: { type: 'string' },
              workflowId: { type: 'string' },
              status: { type: 'string' },
            },
          },
          ...AUTH_ERRORS,
          409: ERROR_RESPONSE,
          422: ERROR_RESPONSE,
        },
      },
    },
    async (request, reply) => {
      requireRole(request.principal, ['investor', 'admin']);
      requireOwner(request.principal, request.params.id);
      const amountMinor = parseAmount(request.body.amount, DEFAULT_CURRENCY);
      return replyIdempotent(context, request, reply, async (tx) => {
        await requireParty(tx, request.params.id, 'investor');
        const { bankAccountId } = request.body;
        await requireUsableBankAccount(tx, { partyId: request.params.id, bankAccountId });
        return {
          statusCode: 202,
          body: await requestDeposit(tx, {
            investorId: request.params.id,
            amountMinor,
            currency: DEFAULT_CURRENCY,
            bankAccountId: request.body.bankAccountId,
          }),
        };
      });
    },
  );
}
