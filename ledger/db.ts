import { Pool, type PoolClient, type PoolConfig } from 'pg';

export interface PoolOptions {
  connectionString: string;
  /** Postgres schema to use as search_path: tests get one each. */
  schema?: string;
  max?: number;
  applicationName?: string;
  /** Act as this role (SET ROLE at connection start): the processes' least-privileged role. */
  role?: string;
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
  // Startup options cannot be bind parameters; the names are checked against a strict pattern instead.
  // Days are UTC everywhere: pinned on every connection, over any server, database or role default.
  const startup: string[] = [...(connection.options ? [connection.options] : []), '-c TimeZone=UTC'];
  if (options.schema !== undefined) {
    if (!SQL_NAME.test(options.schema)) throw new Error(`invalid schema name: ${options.schema}`);
    startup.push(`-c search_path=${options.schema}`);
  }
  config.options = startup.join(' ');
  const pool = new Pool(config);
  if (options.role !== undefined) {
    const role = options.role;
    if (!SQL_NAME.test(role)) throw new Error(`invalid role name: ${role}`);
    // Queued on each new connection before any other query: every statement runs as `role`.
    pool.on('connect', (client) => {
      client.query("SELECT set_config('role', $1, false)", [role]).catch((err: Error) => client.emit('error', err));
    });
  }
  return pool;
}

/** Runs `work` in one Postgres transaction on a client of its own: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: Pool, work: (tx: PoolClient) => Promise<T>): Promise<T> {
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
