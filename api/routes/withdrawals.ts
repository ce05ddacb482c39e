// POST /v1/investors/{id}/withdrawals: money out to the investor's bank account. The hold, the
// payout record and its workflow's start commit together; the Payout workflow does the rest.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { BANK_ACCOUNT_SCHEMA, type BankAccount } from '../../gateway/protocol';
import { accountPath } from '../../ledger/accounts';
import { DEFAULT_CURRENCY } from '../../ledger/currency';
import { parseAmount } from '../../ledger/money';
import { createPayout } from '../../payments/payouts';
import type { AppContext } from '../app';
import { requireOwner, requireRole } from '../auth';
import { ApiError } from '../errors';
import { replyIdempotent } from '../idempotent-route';
import { AMOUNT, AUTH_ERRORS, ERROR_RESPONSE, IDEMPOTENCY_HEADERS, PARTY_ID } from '../schemas';

export function registerWithdrawalRoutes(app: FastifyInstance, context: AppContext): void {
  app.post<{ Params: { id: string }; Body: { amount: string; account: BankAccount } }>('/v1/investors/:id/withdrawals', {
    schema: {
      summary: "pay money out of the investor's balance to their bank account",
      params: { type: 'object', properties: { id: PARTY_ID }, required: ['id'] },
      headers: IDEMPOTENCY_HEADERS,
      body: { type: 'object', additionalProperties: false, required: ['amount', 'account'], properties: { amount: AMOUNT, account: BANK_ACCOUNT_SCHEMA } },
      response: { 202: { type: 'object', properties: { payoutId: { type: 'string' }, workflowId: { type: 'string' }, status: { type: 'string' } } }, ...AUTH_ERRORS, 409: ERROR_RESPONSE, 422: ERROR_RESPONSE },
    },
  }, async (request, reply) => {
    requireRole(request.principal, ['investor']);
    requireOwner(request.principal, request.params.id);
    const amountMinor = parseAmount(request.body.amount, DEFAULT_CURRENCY);
    return replyIdempotent(context, request, reply, async (tx) => {
      const { rowCount } = await tx.query(`SELECT 1 FROM parties WHERE id = $1 AND kind = 'investor'`, [request.params.id]);
      if (rowCount === 0) throw new ApiError(404, 'NOT_FOUND', 'not found');
      const payoutId = `wd_${randomBytes(10).toString('hex')}`;
      await createPayout(tx, {
        id: payoutId, purpose: 'withdrawal', partyId: request.params.id, sourceAccount: accountPath.investorAvailable(request.params.id),
        amountMinor, currency: DEFAULT_CURRENCY, bankAccount: request.body.account,
      });
      return { statusCode: 202, body: { payoutId, workflowId: `payout-${payoutId}`, status: 'HELD' } };
    });
  });
}
