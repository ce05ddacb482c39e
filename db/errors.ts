// What a pg error says about the connection and the statement, not about the ledger: retry the
// statement (a serialization failure), or answer 503 (the database is not reachable right now).

interface PgError {
  code?: string;
}

/** Serialization failures and deadlocks: safe to retry the whole statement. */
export function isRetryable(err: unknown): boolean {
  const code = (err as PgError)?.code;
  return code === '40001' || code === '40P01';
}

/** The messages pg gives a connection that ended or never opened (they carry no SQLSTATE). */
const LOST_CONNECTION =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)/;
const NETWORK_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * The database cannot be reached or is not serving right now (down, restarting, in crash recovery,
 * the connection cut): nothing about the request itself. SQLSTATE class 08 (connection exception),
 * 57P01-57P03 (shut down by an administrator or a crash, cannot connect now), a refused or reset
 * socket, or pg's own messages for a connection that ended.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (
    typeof e.code === 'string' &&
    (e.code.startsWith('08') ||
      ['57P01', '57P02', '57P03'].includes(e.code) ||
      NETWORK_ERRNO.has(e.code))
  )
    return true;
  if (typeof e.message === 'string' && LOST_CONNECTION.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== err && isDatabaseUnavailable(e.cause);
}
