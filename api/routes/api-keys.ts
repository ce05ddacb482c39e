// POST /v1/api-keys (admin): a new key, shown once. Not replayable by Idempotency-Key: a stored
// response would be a stored secret. DELETE /v1/api-keys/{id} (admin): revoked at once. Both are
// audited in the same transaction. Admin keys are issued here too; where the key policy says so
// (api/key-policy.ts: staging, production) the bootstrap key issues only the first of them, and
// every key expires within the maximum lifetime.
import type { FastifyInstance } from 'fastify';
import { writeAudit } from '../../db/audit';
import { inTransaction } from '../../db/pool';
import type { AppContext } from '../app';
import { actorOf, generateApiKey, requireRole, type Principal } from '../auth';
import { ApiError } from '../errors';
import { expiryFor } from '../key-policy';
import type { Queryable } from '../../ledger/types';
import { AUTH_ERRORS } from '../schemas';
import { requireParty } from '../require-party';

const ROLE = /^(admin|operator|investor:([A-Za-z0-9_-]{1,64})|borrower:([A-Za-z0-9_-]{1,64}))$/;
/** The person holding the key, e.g. an email (migration 0037 checks the same). */
const HOLDER = { type: 'string', pattern: '^[A-Za-z0-9._%+@-]{1,128}$' } as const;

export function registerApiKeyRoutes(app: FastifyInstance, context: AppContext): void {
  registerIssueApiKeyRoute(app, context);
  registerRevokeApiKeyRoute(app, context);
}

const ISSUE_API_KEY_SCHEMA = {
  summary: 'issue an API key (shown once)',
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['role'],
    properties: {
      role: { type: 'string', pattern: ROLE.source },
      expiresAt: { type: 'string', format: 'date-time' },
      holder: {
        ...HOLDER,
        description:
          'the person holding it (e.g. an email): no one approves their own request, whichever key; required for operator and admin keys in staging and production',
      },
    },
  },
  response: {
    201: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        key: { type: 'string' },
        role: { type: 'string' },
        expiresAt: { type: ['string', 'null'] },
        holder: { type: 'string' },
      },
      required: ['id', 'key', 'role', 'expiresAt', 'holder'],
    },
    ...AUTH_ERRORS,
  },
};

function registerIssueApiKeyRoute(app: FastifyInstance, { pool, keyPolicy }: AppContext): void {
  app.post<{ Body: { role: string; expiresAt?: string; holder?: string } }>(
    '/v1/api-keys',
    { schema: ISSUE_API_KEY_SCHEMA },
    async (request, reply) => {
      requireRole(request.principal, ['admin']);
      const { role, partyId } = parseRole(request.body.role);
      if (partyId) {
        await requireParty(pool, partyId, role as 'investor' | 'borrower');
      }
      const expiresAt = expiryFor(
        keyPolicy,
        request.body.expiresAt ? new Date(request.body.expiresAt) : undefined,
        new Date(),
      );
      const bootstrapLimited =
        keyPolicy.bootstrapIssuesFirstAdminOnly && request.principal.bootstrap === true;
      if (bootstrapLimited && role !== 'admin') throw bootstrapRefusal();
      const { holder } = request.body;
      if (keyPolicy.holderRequired && !holder && (role === 'operator' || role === 'admin'))
        throw new ApiError(
          400,
          'HOLDER_REQUIRED',
          'an operator or admin key names its holder (the person, e.g. an email) here',
        );
      const { keyId, key, secretHash } = generateApiKey();
      await inTransaction(pool, async (tx) => {
        if (bootstrapLimited) await refuseIfAnAdminKeyWasIssued(tx);
        await tx.query(
          'INSERT INTO api_keys (id, secret_hash, role, party_id, expires_at, issued_by, holder) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [
            keyId,
            secretHash,
            role,
            partyId ?? null,
            expiresAt,
            actorOf(request.principal),
            holder ?? null,
          ],
        );
        await writeAudit(tx, {
          actor: actorOf(request.principal),
          action: 'api_key.issued',
          subject: keyId,
          requestId: request.id,
          details: {
            role: request.body.role,
            expiresAt: expiresAt?.toISOString() ?? null,
            holder: holder ?? keyId,
            ...bootstrapDetail(request.principal),
          },
        });
      });
      return reply.status(201).send({
        id: keyId,
        key,
        role: request.body.role,
        expiresAt: expiresAt?.toISOString() ?? null,
        holder: holder ?? keyId,
      });
    },
  );
}

/** The role a requested one names (`investor:inv-1` is an investor's) and its party, if any. */
function parseRole(requested: string): { role: string; partyId: string | undefined } {
  const match = ROLE.exec(requested);
  if (!match)
    throw new ApiError(
      400,
      'INVALID_ROLE',
      'role must be admin, operator, investor:<id> or borrower:<id>',
    );
  const role =
    match[1] === 'operator' || match[1] === 'admin' ? match[1] : match[2] ? 'investor' : 'borrower';
  return { role, partyId: match[2] ?? match[3] };
}

function registerRevokeApiKeyRoute(app: FastifyInstance, { pool }: AppContext): void {
  app.delete<{ Params: { id: string } }>(
    '/v1/api-keys/:id',
    {
      schema: {
        summary: 'revoke an API key: refused from the next request on',
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: '^[a-f0-9]{16}$' } },
          required: ['id'],
        },
        response: {
          200: {
            type: 'object',
            properties: { id: { type: 'string' }, revokedAt: { type: 'string' } },
          },
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      requireRole(request.principal, ['admin']);
      return inTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ revoked_at: Date }>(
          'UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING revoked_at',
          [request.params.id],
        );
        if (!rows[0]) throw new ApiError(404, 'NOT_FOUND', 'no such key');
        await writeAudit(tx, {
          actor: actorOf(request.principal),
          action: 'api_key.revoked',
          subject: request.params.id,
          requestId: request.id,
        });
        return { id: request.params.id, revokedAt: rows[0].revoked_at.toISOString() };
      });
    },
  );
}

function bootstrapRefusal(): ApiError {
  return new ApiError(
    403,
    'BOOTSTRAP_KEY_LIMITED',
    'the bootstrap ADMIN_API_KEY only issues the first admin key here: issue other keys with an admin key',
  );
}

/**
 * The bootstrap key issues the first admin key and no other: refused once any admin key was issued,
 * even one since revoked or expired (issue 16 item 3). A deployment that lost every admin key
 * recovers through the database owner, never through the API: the owner deletes the retired
 * admin keys' rows (the app role cannot), and the bootstrap key may issue a first one again; the
 * audit log keeps their history. One at a time: two concurrent bootstrap requests cannot both pass.
 */
async function refuseIfAnAdminKeyWasIssued(tx: Queryable): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('api_keys:bootstrap-admin'))`);
  const { rowCount } = await tx.query(`SELECT 1 FROM api_keys WHERE role = 'admin' LIMIT 1`);
  if (rowCount) throw bootstrapRefusal();
}

const bootstrapDetail = (principal: Principal) =>
  principal.bootstrap ? { byBootstrapKey: true } : {};
