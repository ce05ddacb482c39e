// POST and GET /v1/{investors|borrowers}/{id}/bank-accounts: the accounts a party's money may go
// to and come from. Added by the party (or, once a second operator approves it, by an operator),
// verified by a penny test, listed masked: the number is never answered whole. DELETE
// .../{bankAccountId} takes one off file: a change of account is the new one added (its
// cooling-off starts) and the old one removed (an operator's removal is held too).
import type { FastifyInstance } from 'fastify';
import { BANK_ACCOUNT_SCHEMA, type BankAccount } from '../../gateway/protocol';
import { addBankAccount, listBankAccounts, removeBankAccount } from '../../payments/bank-accounts';
import { sealForApproval } from '../../payments/held-bank-account';
import type { Queryable } from '../../ledger/types';
import type { AppContext } from '../app';
import { HELD_FIELDS, holdIn } from '../approval-gate';
import { documentedObject } from '../contract';
import { actorOf, requireOwner, requireRole, type Principal } from '../auth';
import { ApiError } from '../errors';
import { replyIdempotent } from '../idempotent-route';
import { requireParty } from '../require-party';
import { AUTH_ERRORS, ERROR_RESPONSE, IDEMPOTENCY_HEADERS, PARTY_ID } from '../schemas';

const STATUS = { type: 'string', enum: ['VERIFYING', 'VERIFIED', 'FAILED', 'REMOVED'] } as const;
export const BANK_ACCOUNT_ID = {
  type: 'string',
  pattern: '^ba_[0-9a-f]{20}$',
  description: 'a bank account on file: ba_ and 20 hex',
} as const;

const LISTING = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      bankAccountId: BANK_ACCOUNT_ID,
      bankCode: { type: 'string' },
      accountNoMasked: { type: 'string', description: 'first and last four digits only' },
      accountName: { type: 'string' },
      status: STATUS,
      verifiedAt: { type: ['string', 'null'] },
    },
  },
} as const;

const PARAMS = { type: 'object', properties: { id: PARTY_ID }, required: ['id'] } as const;

const HELD = documentedObject(
  "an operator's or admin's change: held for a second operator (POST /v1/approvals/{id}/approve)",
  HELD_FIELDS,
);

/**
 * An operator or admin changing where someone else's money goes acts alone no more: held for a
 * second operator (maker-checker). The owner's own key changes it at once.
 */
const heldFor = (principal: Principal) =>
  principal.role === 'operator' || principal.role === 'admin';
const approvalSubject = (partyId: string) => `bank-accounts-${partyId}`;

export function registerBankAccountRoutes(app: FastifyInstance, context: AppContext): void {
  for (const kind of ['investor', 'borrower'] as const) {
    const path = `/v1/${kind}s/:id/bank-accounts`;
    app.post<{ Params: { id: string }; Body: BankAccount }>(
      path,
      {
        schema: {
          summary: `put a bank account on file for the ${kind}: verified by a 0.01 penny test`,
          params: PARAMS,
          headers: IDEMPOTENCY_HEADERS,
          body: BANK_ACCOUNT_SCHEMA,
          response: {
            201: {
              type: 'object',
              properties: { bankAccountId: BANK_ACCOUNT_ID, status: STATUS },
            },
            202: HELD,
            ...AUTH_ERRORS,
            409: ERROR_RESPONSE,
          },
        },
      },
      async (request, reply) => {
        requireRole(request.principal, [kind, 'operator', 'admin']);
        requireOwner(request.principal, request.params.id);
        return replyIdempotent(context, request, reply, async (tx) => {
          await requireParty(tx, request.params.id, kind);
          if (heldFor(request.principal)) {
            const held = await holdIn(tx, request, {
              workflowId: approvalSubject(request.params.id),
              action: 'bank_account.add',
              payload: { partyId: request.params.id, kind, account: sealForApproval(request.body) },
              reason: `add a ${request.body.bankCode} account for ${request.params.id}`,
            });
            return { statusCode: held.statusCode, body: held.body };
          }
          const body = await addBankAccount(tx, {
            partyId: request.params.id,
            account: request.body,
            actor: actorOf(request.principal),
            requestId: request.id,
          });
          return { statusCode: 201, body };
        });
      },
    );
    app.get<{ Params: { id: string } }>(
      path,
      {
        schema: {
          summary: `the ${kind}'s bank accounts on file, numbers masked`,
          params: PARAMS,
          response: { 200: LISTING, ...AUTH_ERRORS },
        },
      },
      async (request) => {
        requireRole(request.principal, [kind, 'operator', 'admin']);
        requireOwner(request.principal, request.params.id);
        await requireParty(context.pool, request.params.id, kind);
        return listBankAccounts(context.pool, request.params.id);
      },
    );
    registerRemoveRoute(app, context, kind);
  }
}

function registerRemoveRoute(
  app: FastifyInstance,
  context: AppContext,
  kind: 'investor' | 'borrower',
): void {
  app.delete<{ Params: { id: string; bankAccountId: string } }>(
    `/v1/${kind}s/:id/bank-accounts/:bankAccountId`,
    {
      schema: {
        summary: `take a bank account of the ${kind} off file: nothing new is paid to or collected from it`,
        params: {
          type: 'object',
          properties: { id: PARTY_ID, bankAccountId: BANK_ACCOUNT_ID },
          required: ['id', 'bankAccountId'],
        },
        headers: IDEMPOTENCY_HEADERS,
        response: {
          200: {
            type: 'object',
            properties: { bankAccountId: BANK_ACCOUNT_ID, status: STATUS },
          },
          202: HELD,
          ...AUTH_ERRORS,
        },
      },
    },
    async (request, reply) => {
      requireRole(request.principal, [kind, 'operator', 'admin']);
      requireOwner(request.principal, request.params.id);
      return replyIdempotent(context, request, reply, async (tx) => {
        await requireParty(tx, request.params.id, kind);
        if (heldFor(request.principal)) {
          await requireOnFile(tx, request.params.id, request.params.bankAccountId);
          const held = await holdIn(tx, request, {
            workflowId: approvalSubject(request.params.id),
            action: 'bank_account.remove',
            payload: {
              partyId: request.params.id,
              kind,
              bankAccountId: request.params.bankAccountId,
            },
            reason: `remove ${request.params.bankAccountId} of ${request.params.id}`,
          });
          return { statusCode: held.statusCode, body: held.body };
        }
        const removed = await removeBankAccount(tx, {
          partyId: request.params.id,
          bankAccountId: request.params.bankAccountId,
          actor: actorOf(request.principal),
          requestId: request.id,
        });
        if (!removed.ok)
          throw new ApiError(
            404,
            'BANK_ACCOUNT_NOT_FOUND',
            `no bank account ${request.params.bankAccountId} on file`,
          );
        return {
          statusCode: 200,
          body: { bankAccountId: request.params.bankAccountId, status: removed.status },
        };
      });
    },
  );
}

/** 404 for an account not on file (nothing held for nothing). */
async function requireOnFile(tx: Queryable, partyId: string, bankAccountId: string): Promise<void> {
  const { rowCount } = await tx.query(
    'SELECT 1 FROM bank_accounts WHERE id = $1 AND party_id = $2 AND removed_at IS NULL',
    [bankAccountId, partyId],
  );
  if (!rowCount)
    throw new ApiError(404, 'BANK_ACCOUNT_NOT_FOUND', `no bank account ${bankAccountId} on file`);
}
