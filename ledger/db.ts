import { Pool, type PoolClient, type PoolConfig } from 'pg';

export interface PoolOptions {
  connectionString: string;
  /** Postgres schema to use as search_path: tests get one each. */
  schema?: string;
  max?: number;
  applicationName?: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A pg pool with explicit limits instead of the library's defaults. */
export function createPool(options: PoolOptions): Pool {
  const config: PoolConfig = {
    connectionString: options.connectionString,
    max: options.max ?? 10,
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 10_000,
    application_name: options.applicationName ?? 'lending-core',
  };
  if (options.schema !== undefined) {
    // search_path cannot be a bind parameter; the name is checked against a strict pattern instead.
    if (!SCHEMA_NAME.test(options.schema)) throw new Error(`invalid schema name: ${options.schema}`);
    config.options = `-c search_path=${options.schema}`;
  }
  return new Pool(config);
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
