// One error shape for every refusal: {"error": {"code", "message", "details"}}.
import { isDatabaseUnavailable } from '../db/errors';
import { LedgerError, type LedgerErrorCode } from '../ledger/errors';
import { MoneyError } from '../ledger/currency';
import { formatAmount } from '../ledger/money';
import { LimitExceeded } from '../payments/limits';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

/**
 * A refusal as a client reads it back from a response (the demo's and the chaos workload's client).
 */
export function apiErrorFromResponse(status: number, body: unknown, what: string): ApiError {
  const error = (body as Partial<ErrorBody> | null | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : `HTTP_${status}`;
  return new ApiError(
    status,
    code,
    `${what}: HTTP ${status} ${JSON.stringify(body).slice(0, 300)}`,
    error?.details ?? {},
  );
}

export function errorBody(
  code: string,
  message: string,
  details: Record<string, unknown> = {},
): ErrorBody {
  return { error: { code, message, details } };
}

const LEDGER_STATUS: Partial<Record<LedgerErrorCode, number>> = {
  INSUFFICIENT_FUNDS: 409,
  ACCOUNT_NOT_FOUND: 404,
  PENDING_ALREADY_CLOSED: 409,
  ALREADY_REVERSED: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  INVALID_INPUT: 400,
};

/** How long a client is asked to wait before it retries a request the database could not serve. */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

/**
 * Known refusals become 4xx with their own code; a database that is down or restarting is a 503
 * (nothing is wrong with the request: the same request, with the same Idempotency-Key, may be sent
 * again); anything else stays an internal error.
 */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof MoneyError) return new ApiError(400, err.code, err.message);
  if (err instanceof LimitExceeded)
    return new ApiError(409, 'WITHDRAWAL_LIMIT', err.message, {
      limit: err.limit,
      amount: formatAmount(err.limitMinor, err.currency),
      remaining: formatAmount(err.remainingMinor, err.currency),
    });
  if (err instanceof LedgerError)
    return new ApiError(LEDGER_STATUS[err.code] ?? 422, err.code, err.message);
  // Text Postgres cannot store (a NUL, U+0000, that slipped past the edge's check): the input's
  // fault.
  if (
    (err as { code?: string } | undefined)?.code === '22021' ||
    (err as { code?: string } | undefined)?.code === '22P05'
  ) {
    return new ApiError(
      400,
      'INVALID_REQUEST',
      'the request contains a character that cannot be stored (NUL)',
    );
  }
  if (isDatabaseUnavailable(err)) {
    return new ApiError(
      503,
      'DATABASE_UNAVAILABLE',
      'the database is not available right now: retry the request',
      { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS },
    );
  }
  return undefined;
}
