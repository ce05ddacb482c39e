// How API keys are issued in each environment (issue 16, item 3). In staging and production the
// bootstrap ADMIN_API_KEY only issues the first admin key (it is a shared secret in a deployment's
// configuration, so nothing else is attributed to it), and every key expires within a maximum
// lifetime. In development and test the bootstrap key does everything, as the demo and the tests
// use it.
import type { AppEnv } from '../config/env';
import type { Principal } from './auth';
import { ApiError } from './errors';

export interface KeyPolicy {
  /** The bootstrap key may only issue the first admin key (api/routes/api-keys.ts). */
  bootstrapIssuesFirstAdminOnly: boolean;
  /**
   * Every key expires within this many days of issue (a key asked for without `expiresAt` gets the
   * maximum).
   */
  maxLifetimeDays?: number;
  /** Operator and admin keys name their holder, the person (maker-checker is per person). */
  holderRequired?: true;
}

export const DEVELOPMENT_KEY_POLICY: KeyPolicy = { bootstrapIssuesFirstAdminOnly: false };
/** The default maximum lifetime of a key in staging and production (API_KEY_MAX_LIFETIME_DAYS). */
export const DEFAULT_MAX_LIFETIME_DAYS = 90;

export function keyPolicyFor(appEnv: AppEnv, maxLifetimeDays: number | undefined): KeyPolicy {
  const deployed = appEnv === 'staging' || appEnv === 'production';
  const days = maxLifetimeDays ?? (deployed ? DEFAULT_MAX_LIFETIME_DAYS : undefined);
  return {
    bootstrapIssuesFirstAdminOnly: deployed,
    ...(days !== undefined ? { maxLifetimeDays: days } : {}),
    ...(deployed ? { holderRequired: true as const } : {}),
  };
}

const ISSUE_ROUTE = '/v1/api-keys';

/**
 * Before any handler: the bootstrap key reaches nothing but key issuing where the policy limits it
 * (the route checks the rest).
 */
export function refuseBootstrapBeyondFirstAdmin(
  policy: KeyPolicy,
  principal: Principal,
  method: string,
  route: string,
): void {
  if (!policy.bootstrapIssuesFirstAdminOnly || !principal.bootstrap) return;
  if (method === 'POST' && route === ISSUE_ROUTE) return;
  throw new ApiError(
    403,
    'BOOTSTRAP_KEY_LIMITED',
    'the bootstrap ADMIN_API_KEY only issues the first admin key here: act with an issued admin key',
  );
}

/**
 * When a key asked for now expires: the asked time (never past the maximum), or the maximum, or
 * never.
 */
export function expiryFor(policy: KeyPolicy, asked: Date | undefined, now: Date): Date | null {
  if (asked && !(asked.getTime() > now.getTime()))
    throw new ApiError(400, 'INVALID_EXPIRY', 'expiresAt must be in the future');
  if (policy.maxLifetimeDays === undefined) return asked ?? null;
  const latest = new Date(now.getTime() + policy.maxLifetimeDays * 86_400_000);
  if (asked && asked.getTime() > latest.getTime()) {
    throw new ApiError(
      400,
      'INVALID_EXPIRY',
      `expiresAt is past the maximum lifetime of a key (${policy.maxLifetimeDays} days): ${latest.toISOString()} at the latest`,
    );
  }
  return asked ?? latest;
}
