import { Pool, type PoolClient, type PoolConfig } from 'pg';

export interface PoolOptions {
  connectionString: string;
  /** Postgres schema to use as search_path: tests get one each. */
  schema?: string;
  max?: number;
  applicationName?: string;
}

const SQL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A connection string's own `options` would replace ours wholesale (pg lets the string win):
 * they are taken out of it and put before ours, so ours (the UTC pin, the schema) still win.
 */
function splitOptions(connectionString: string): { connectionString: string; options?: string } {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return { connectionString }; // not a URL (a socket path): pg reads no options from it
  }
  const options = url.searchParams.get('options');
  if (options === null) return { connectionString };
  url.searchParams.delete('options');
  return { connectionString: url.toString(), options };
}

/** A pg pool with explicit limits instead of the library's defaults. */
export function createPool(options: PoolOptions): Pool {
  const connection = splitOptions(options.connectionString);
  const config: PoolConfig = {
    connectionString: connection.connectionString,
    max: options.max ?? 10,
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 10_000,
    application_name: options.applicationName ?? 'lending-core',
  };
  // Startup options cannot be bind parameters; the names are checked against a strict pattern
  // instead. Days are UTC everywhere: pinned on every connection, over any server, database or role
  // default.
  const startup: string[] = [
    ...(connection.options ? [connection.options] : []),
    '-c TimeZone=UTC',
  ];
  if (options.schema !== undefined) {
    if (!SQL_NAME.test(options.schema)) throw new Error(`invalid schema name: ${options.schema}`);
    startup.push(`-c search_path=${options.schema}`);
  }
  config.options = startup.join(' ');
  const pool = new Pool(config);
  survivesLostConnections(pool, config.application_name as string);
  return pool;
}

/**
 * A connection the server ends (a restart, `pg_ctl -m immediate`, a failover, pg_terminate_backend)
 * makes its client emit 'error'. For an idle client the pool re-emits it as the pool's 'error'; a
 * checked-out client (pool.connect(): a transaction) has no listener of its own. Either way an
 * 'error' event nobody listens to is thrown, and ends the process. With these listeners the process
 * goes on: the pool drops an idle client at once and a checked-out one at its release (it is no
 * longer queryable); the statement in flight fails with the error, for its caller to handle (an
 * activity is retried by Temporal, a request is answered 503, a dispatcher pass is tried again),
 * and the next checkout opens a new connection.
 */
function survivesLostConnections(pool: Pool, name: string): void {
  pool.on('connect', (client) => {
    client.on('error', (err: Error & { code?: string }) => {
      console.warn(
        JSON.stringify({
          level: 'warn',
          msg: 'postgres connection lost',
          pool: name,
          code: err.code,
          error: err.message,
        }),
      );
    });
  });
  pool.on('error', () => undefined); // an idle client's error: its own listener above has said it
}

/**
 * Runs `work` in one Postgres transaction on a client of its own: committed if it returns, rolled
 * back if it throws.
 */
export async function inTransaction<T>(
  pool: Pool,
  work: (tx: PoolClient) => Promise<T>,
): Promise<T> {
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    const result = await work(tx);
    await tx.query('COMMIT');
    return result;
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => undefined); // the original error is what matters
    throw err;
  } finally {
    tx.release();
  }
}
