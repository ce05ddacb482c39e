// Bearer API keys: random, shown once, stored as a hash, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../ledger/types';
import { ApiError } from './errors';

export type Role = 'admin' | 'operator' | 'investor' | 'borrower';

export interface Principal {
  keyId: string;
  role: Role;
  /** The investor or borrower the key acts for. */
  partyId?: string;
  /**
   * The person holding the key (maker-checker is per person): the key's own id where none was
   * named (development, test, older keys).
   */
  holder: string;
  /**
   * The environment's ADMIN_API_KEY, not an issued key: in staging and production it only issues
   * the first admin key.
   */
  bootstrap?: true;
}

const KEY_FORMAT = /^lck_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;
const ADMIN_KEY_ID = 'admin-env';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A new key: `lck_<id>_<secret>`. Only the id and the secret's hash are stored. */
export function generateApiKey(): { keyId: string; key: string; secretHash: string } {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, key: `lck_${keyId}_${secret}`, secretHash: sha256(secret).toString('hex') };
}

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal>;
}

/**
 * Resolves the Authorization header to a principal, or 401. The admin key comes from the
 * environment.
 */
export function createAuthenticator(db: Queryable, adminApiKey: string | undefined): Authenticator {
  const adminHash = adminApiKey ? sha256(adminApiKey) : undefined;
  return {
    async authenticate(authorization) {
      const match = /^Bearer (\S{1,200})$/.exec(authorization ?? '');
      if (!match)
        throw new ApiError(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <api key>');
      const presented = match[1];
      if (adminHash && timingSafeEqual(sha256(presented), adminHash))
        return { keyId: ADMIN_KEY_ID, role: 'admin', holder: ADMIN_KEY_ID, bootstrap: true };
      const parts = KEY_FORMAT.exec(presented);
      if (!parts) throw new ApiError(401, 'UNAUTHENTICATED', 'invalid API key');
      const [, keyId, secret] = parts;
      const { rows } = await db.query<{
        secret_hash: string;
        role: Role;
        party_id: string | null;
        holder: string | null;
      }>(
        `SELECT secret_hash, role, party_id, holder FROM api_keys
         WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
        [keyId],
      );
      // Hash and compare even when the id is unknown, so timing does not tell which ids exist.
      const stored = Buffer.from(rows[0]?.secret_hash ?? '0'.repeat(64), 'hex');
      const matches = timingSafeEqual(sha256(secret), stored);
      if (rows.length === 0 || !matches)
        throw new ApiError(401, 'UNAUTHENTICATED', 'invalid API key');
      return {
        keyId,
        role: rows[0].role,
        holder: rows[0].holder ?? keyId,
        ...(rows[0].party_id ? { partyId: rows[0].party_id } : {}),
      };
    },
  };
}

/** 403 unless the principal has one of the roles. */
export function requireRole(principal: Principal, roles: readonly Role[]): void {
  if (!roles.includes(principal.role))
    throw new ApiError(403, 'FORBIDDEN', `this needs one of the roles: ${roles.join(', ')}`);
}

/**
 * Investors and borrowers reach their own resources only; another's is answered 404, the same as
 * one that does not exist, so ids cannot be probed. Operators and admins reach all.
 */
export function requireOwner(principal: Principal, partyId: string): void {
  if (principal.role === 'admin' || principal.role === 'operator') return;
  if (principal.partyId !== partyId) throw new ApiError(404, 'NOT_FOUND', 'not found');
}

/** How an action's author is written in the audit log: role and key id, never the key. */
export function actorOf(principal: Principal): string {
  return `${principal.role}:${principal.keyId}`;
}
