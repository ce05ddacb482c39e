import { Pool, PoolConfig } from 'pg';

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
