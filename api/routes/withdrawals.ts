// POST /v1/investors/{id}/withdrawals: money out to the investor's bank account. What the investor
// owes back is offset first; the offset, the hold, the payout record and its workflow's start
// commit together; the Payout workflow does the rest.
import type { FastifyInstance } from 'fastify';
import { DEFAULT_CURRENCY } from '../../ledger/currency';
import { formatAmount, parseAmount } from '../../ledger/money';
import { requestWithdrawal } from '../../payments/requests';
import type { AppContext } from '../app';
import { actorOf, requireOwner, requireRole } from '../auth';
import { replyIdempotent } from '../idempotent-route';
import { AMOUNT, AUTH_ERRORS, ERROR_RESPONSE, IDEMPOTENCY_HEADERS, PARTY_ID } from '../schemas';
import { requireParty } from '../require-party';
import { requireUsableBankAccount } from '../require-bank-account';
import { BANK_ACCOUNT_ID } from './bank-accounts';

/**
 * 202: the rest after any recovery offset is held and its Payout started; 200: the offset took it
 * all, nothing is sent.
 */
const WITHDRAWAL_RESPONSE = {
  type: 'object',
  properties: {
    payoutId: { type: ['string', 'null'] },
    workflowId: { type: ['string', 'null'] },
    status: { type: 'string', enum: ['HELD', 'OFFSET'] },
    amount: { ...AMOUNT, description: 'sent to the bank account' },
    offset: { ...AMOUNT, description: 'taken to clear what the investor owes back' },
  },
} as const;

export function registerWithdrawalRoutes(app: FastifyInstance, context: AppContext): void {
  app.post<{ Params: { id: string }; Body: { amount: string; bankAccountId: string } }>(
    '/v1/investors/:id/withdrawals',
    {
      schema: {
        summary: "pay money out of the investor's balance to their bank account",
        params: { type: 'object', properties: { id: PARTY_ID }, required: ['id'] },
        headers: IDEMPOTENCY_HEADERS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['amount', 'bankAccountId'],
          properties: { amount: AMOUNT, bankAccountId: BANK_ACCOUNT_ID },
        },
        response: {
          200: WITHDRAWAL_RESPONSE,
          202: WITHDRAWAL_RESPONSE,
          ...AUTH_ERRORS,
          409: ERROR_RESPONSE,
          422: ERROR_RESPONSE,
        },
      },
    },
    async (request, reply) => {
      requireRole(request.principal, ['investor']);
      requireOwner(request.principal, request.params.id);
      const amountMinor = parseAmount(request.body.amount, DEFAULT_CURRENCY);
      return replyIdempotent(context, request, reply, async (tx) => {
        await requireParty(tx, request.params.id, 'investor');
        await requireUsableBankAccount(
          tx,
          {
            partyId: request.params.id,
            bankAccountId: request.body.bankAccountId,
            coolingOffSeconds: context.bankAccountCoolingOffSeconds,
          },
          { pool: context.pool, actor: actorOf(request.principal), requestId: request.id },
        );
        // What the investor owes back is taken first, as from a scheduled payout
        // (payments/requests.ts).
        const w = await requestWithdrawal(tx, {
          investorId: request.params.id,
          amountMinor,
          currency: DEFAULT_CURRENCY,
          bankAccountId: request.body.bankAccountId,
        });
        const amounts = {
          amount: formatAmount(w.payoutMinor, DEFAULT_CURRENCY),
          offset: formatAmount(w.offsetMinor, DEFAULT_CURRENCY),
        };
        if (w.payoutId === null)
          return {
            statusCode: 200,
            body: { payoutId: null, workflowId: null, status: 'OFFSET', ...amounts },
          };
        return {
          statusCode: 202,
          body: { payoutId: w.payoutId, workflowId: w.workflowId, status: 'HELD', ...amounts },
        };
      });
    },
  );
}
