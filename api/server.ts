// The API process: `npm run api`. Reads DATABASE_URL, ADMIN_API_KEY, API_HOST, API_PORT.
import { Client, Connection } from '@temporalio/client';
import { temporalSettingsFromEnv } from '../config/temporal';
import { createPool } from '../ledger/db';
import { buildApp } from './app';

const REDACT = ['req.headers.authorization', 'req.headers["idempotency-key"]', 'req.headers.cookie', 'req.headers["x-gateway-signature"]'];

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set');
  const adminApiKey = process.env.ADMIN_API_KEY;
  if (!adminApiKey || adminApiKey.length < 32) throw new Error('ADMIN_API_KEY must be set to at least 32 random characters');
  const pool = createPool({ connectionString: databaseUrl, max: Number(process.env.API_DB_POOL ?? 20), applicationName: 'api' });
  const temporalSettings = temporalSettingsFromEnv();
  // Lazy: the API starts and takes subscriptions whether or not Temporal is reachable.
  const connection = Connection.lazy({ address: temporalSettings.address, tls: temporalSettings.tls, apiKey: temporalSettings.apiKey });
  const app = await buildApp({
    pool,
    temporal: new Client({ connection, namespace: temporalSettings.namespace }),
    gatewaySecret: process.env.GATEWAY_SECRET,
    adminApiKey,
    rateLimitPerMinute: process.env.API_RATE_LIMIT_PER_MINUTE ? Number(process.env.API_RATE_LIMIT_PER_MINUTE) : undefined,
    logger: { level: process.env.LOG_LEVEL ?? 'info', redact: REDACT },
  });
  const shutdown = async () => {
    await app.close();
    await connection.close();
    await pool.end();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  const address = await app.listen({ host: process.env.API_HOST ?? '127.0.0.1', port: Number(process.env.API_PORT ?? 3000) });
  console.log(`[api] listening on ${address}`);
}

main().catch((err: Error) => {
  console.error(`[api] fatal: ${err.message}`);
  process.exit(1);
});
