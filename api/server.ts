// The API process: `npm run api`. Its settings: config/env.ts (README, "Configuration").
import { Client, Connection } from '@temporalio/client';
import { bankAccountCoolingOffSeconds, configOrExit, paidApprovalAboveMinor } from '../config/env';
import { temporalSettingsFromEnv } from '../config/temporal';
import { assertLeastPrivilegedLogin } from '../db/app-role';
import { createPool } from '../db/pool';
import { assertEnvironment } from '../db/environment';
import { buildApp } from './app';
import { keyPolicyFor } from './key-policy';
import { LOG_REDACTIONS } from './log-redaction';

async function main(): Promise<void> {
  const config = configOrExit('api');
  // The application role's own login (db/app-role.ts): refused in staging and production if it is
  // the owner's.
  const pool = createPool({
    connectionString: config.DATABASE_URL as string,
    max: config.API_DB_POOL,
    applicationName: 'api',
  });
  await assertLeastPrivilegedLogin(pool, config.APP_ENV, (m) => console.warn(`[api] ${m}`));
  await assertEnvironment(pool, config.APP_ENV);
  const temporalSettings = temporalSettingsFromEnv();
  // Lazy: the API starts and takes subscriptions whether or not Temporal is reachable.
  const connection = Connection.lazy({
    address: temporalSettings.address,
    tls: temporalSettings.tls,
    apiKey: temporalSettings.apiKey,
  });
  const app = await buildApp({
    pool,
    temporal: new Client({ connection, namespace: temporalSettings.namespace }),
    gatewaySecret: config.GATEWAY_SECRET,
    previousGatewaySecret: config.GATEWAY_SECRET_PREVIOUS,
    adminApiKey: config.ADMIN_API_KEY,
    rateLimitPerMinute: config.API_RATE_LIMIT_PER_MINUTE,
    trustProxy: config.TRUST_PROXY,
    bankAccountCoolingOffSeconds: bankAccountCoolingOffSeconds(config),
    paidApprovalAboveMinor: paidApprovalAboveMinor(config),
    keyPolicy: keyPolicyFor(config.APP_ENV, config.API_KEY_MAX_LIFETIME_DAYS),
    logger: { level: config.LOG_LEVEL, redact: LOG_REDACTIONS },
  });
  const shutdown = async () => {
    await app.close();
    await connection.close();
    await pool.end();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  const address = await app.listen({ host: config.API_HOST, port: config.API_PORT });
  console.log(`[api] listening on ${address} (${config.APP_ENV})`);
}

main().catch((err: Error) => {
  console.error(`[api] fatal: ${err.message}`);
  process.exit(1);
});
