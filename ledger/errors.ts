// Database refusals become named errors, so callers (and the API's HTTP codes) can tell them apart.

export type LedgerErrorCode =
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'UNBALANCED'
  | 'ACCOUNT_NOT_FOUND'
  | 'ACCOUNT_CONFLICT'
  | 'CURRENCY_MISMATCH'
  | 'CURRENCY_UNKNOWN'
  | 'INSUFFICIENT_FUNDS'
  | 'PENDING_NOT_FOUND'
  | 'PENDING_ALREADY_CLOSED'
  | 'PENDING_EXPIRED'
  | 'PENDING_AMOUNT_INVALID'
  | 'TRANSACTION_NOT_REVERSIBLE'
  | 'ALREADY_REVERSED'
  | 'APPEND_ONLY'
  | 'INVALID_INPUT';

export class LedgerError extends Error {
  /** Final for an activity's retry policy (workflows/retry-policies.ts reads this literal). */
  override readonly name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const BY_SQLSTATE: Record<string, LedgerErrorCode> = {
  LG001: 'IDEMPOTENCY_KEY_REUSED',
  LG002: 'UNBALANCED',
  LG003: 'ACCOUNT_NOT_FOUND',
  LG005: 'INSUFFICIENT_FUNDS',
  LG006: 'PENDING_NOT_FOUND',
  LG007: 'PENDING_ALREADY_CLOSED',
  LG008: 'PENDING_EXPIRED',
  LG009: 'PENDING_AMOUNT_INVALID',
  LG010: 'TRANSACTION_NOT_REVERSIBLE',
  LG013: 'ACCOUNT_CONFLICT',
  LG020: 'APPEND_ONLY',
};

const BY_CONSTRAINT: Record<string, LedgerErrorCode> = {
  ledger_pending_closed_once: 'PENDING_ALREADY_CLOSED',
  ledger_reversed_once: 'ALREADY_REVERSED',
  ledger_balances_non_negative: 'INSUFFICIENT_FUNDS',
  ledger_postings_account_id_currency_fkey: 'CURRENCY_MISMATCH',
  ledger_accounts_currency_fkey: 'CURRENCY_UNKNOWN',
  user_accounts_never_negative: 'INVALID_INPUT',
  ledger_accounts_path_check: 'INVALID_INPUT',
};

interface PgError {
  code?: string;
  constraint?: string;
  message: string;
}

/** Maps a pg error to a LedgerError when it is one of ours; anything else is returned as it is. */
export function toLedgerError(err: unknown): unknown {
  const pg = err as PgError;
  if (typeof pg?.code !== 'string') return err;
  const code = BY_SQLSTATE[pg.code] ?? (pg.constraint ? BY_CONSTRAINT[pg.constraint] : undefined);
  return code ? new LedgerError(code, pg.message) : err;
}
