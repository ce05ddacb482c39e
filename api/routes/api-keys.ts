// POST /v1/api-keys (admin): a new key, shown once. Not replayable by Idempotency-Key: a stored
// response would be a stored secret.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app';
import { generateApiKey, requireRole } from '../auth';
import { ApiError } from '../errors';
import { AUTH_ERRORS } from '../schemas';

const ROLE = /^(operator|investor:([A-Za-z0-9_-]{1,64})|borrower:([A-Za-z0-9_-]{1,64}))$/;

export function registerApiKeyRoutes(app: FastifyInstance, { pool }: AppContext): void {
  app.post<{ Body: { role: string; expiresAt?: string } }>('/v1/api-keys', {
    schema: {
      summary: 'issue an API key (shown once)',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['role'],
        properties: {
          role: { type: 'string', pattern: ROLE.source },
          expiresAt: { type: 'string', format: 'date-time' },
        },
      },
      response: { 201: { type: 'object', properties: { id: { type: 'string' }, key: { type: 'string' }, role: { type: 'string' } }, required: ['id', 'key', 'role'] }, ...AUTH_ERRORS },
    },
  }, async (request, reply) => {
    requireRole(request.principal, ['admin']);
    const match = ROLE.exec(request.body.role);
    if (!match) throw new ApiError(400, 'INVALID_ROLE', 'role must be operator, investor:<id> or borrower:<id>');
    const role = match[1] === 'operator' ? 'operator' : match[2] ? 'investor' : 'borrower';
    const partyId = match[2] ?? match[3];
    if (partyId) {
      const { rowCount } = await pool.query('SELECT 1 FROM parties WHERE id = $1 AND kind = $2', [partyId, role]);
      if (rowCount === 0) throw new ApiError(404, 'NOT_FOUND', `no ${role} ${partyId}`);
    }
    const expiresAt = request.body.expiresAt ? new Date(request.body.expiresAt) : null;
    if (expiresAt && !(expiresAt.getTime() > Date.now())) throw new ApiError(400, 'INVALID_EXPIRY', 'expiresAt must be in the future');
    const { keyId, key, secretHash } = generateApiKey();
    await pool.query('INSERT INTO api_keys (id, secret_hash, role, party_id, expires_at) VALUES ($1, $2, $3, $4, $5)', [keyId, secretHash, role, partyId ?? null, expiresAt]);
    return reply.status(201).send({ id: keyId, key, role: request.body.role });
  });
}
