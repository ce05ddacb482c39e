// POST /v1/investors, POST /v1/borrowers (admin): a party and its ledger account, and the bank
// account given with it put on file (sealed, penny test), in one transaction.
import type { FastifyInstance } from 'fastify';
import { BANK_ACCOUNT_SCHEMA, type BankAccount } from '../../gateway/protocol';
import { accountPath, Ledger } from '../../ledger';
import { DEFAULT_CURRENCY } from '../../ledger/currency';
import type { AppContext } from '../app';
import { actorOf, requireRole } from '../auth';
import { writeAudit } from '../../db/audit';
import { ApiError } from '../errors';
import { replyIdempotent } from '../idempotent-route';
import { AUTH_ERRORS, ERROR_RESPONSE, IDEMPOTENCY_HEADERS, PARTY_ID } from '../schemas';
import { newIds } from '../../ids/new-ids';
import { addBankAccount } from '../../payments/bank-accounts';
import { BANK_ACCOUNT_ID } from './bank-accounts';

interface CreatePartyBody {
  id?: string;
  name: string;
  /**
   * Kept for older clients: put on file (sealed, penny test) as POST …/bank-accounts would, never
   * stored in `parties`.
   */
  bankAccount?: BankAccount;
}

const CREATED = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    bankAccountId: {
      ...BANK_ACCOUNT_ID,
      description: 'the bankAccount given, put on file (VERIFYING until its penny test)',
    },
  },
  required: ['id'],
} as const;

export function registerPartyRoutes(app: FastifyInstance, context: AppContext): void {
  for (const kind of ['investor', 'borrower'] as const) {
    app.post<{ Body: CreatePartyBody }>(
      `/v1/${kind}s`,
      {
        schema: {
          summary: `create an ${kind}`,
          headers: IDEMPOTENCY_HEADERS,
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: {
              id: PARTY_ID,
              name: { type: 'string', minLength: 1, maxLength: 200 },
              bankAccount: BANK_ACCOUNT_SCHEMA,
            },
          },
          response: {
            201: CREATED,
            ...AUTH_ERRORS,
            409: ERROR_RESPONSE,
            422: ERROR_RESPONSE,
          },
        },
      },
      async (request, reply) => {
        requireRole(request.principal, ['admin']);
        return replyIdempotent(context, request, reply, async (tx) => {
          const id = request.body.id ?? newIds.party(kind);
          const inserted = await tx.query(
            'INSERT INTO parties (id, kind, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
            [id, kind, request.body.name],
          );
          if (inserted.rowCount === 0)
            throw new ApiError(409, 'ALREADY_EXISTS', `${id} already exists`);
          const path =
            kind === 'investor'
              ? accountPath.investorAvailable(id)
              : accountPath.borrowerAvailable(id);
          await new Ledger(tx).createAccount({ path, currency: DEFAULT_CURRENCY });
          await writeAudit(tx, {
            actor: actorOf(request.principal),
            action: `${kind}.created`,
            subject: id,
            requestId: request.id,
          });
          if (!request.body.bankAccount) return { statusCode: 201, body: { id } };
          const { bankAccountId } = await addBankAccount(tx, {
            partyId: id,
            account: request.body.bankAccount,
            actor: actorOf(request.principal),
            requestId: request.id,
          });
          return { statusCode: 201, body: { id, bankAccountId } };
        });
      },
    );
  }
}
