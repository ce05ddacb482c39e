// The outbox dispatcher process: `npm run dispatcher`.
import { Client, Connection } from '@temporalio/client';
import { temporalSettingsFromEnv } from '../config/temporal';
import { configOrExit } from '../config/env';
import { assertLeastPrivilegedLogin } from '../db/app-role';
import { createPool } from '../db/pool';
import { assertEnvironment } from '../db/environment';
import { OutboxDispatcher } from './outbox-dispatcher';

async function main(): Promise<void> {
  const config = configOrExit('dispatcher');
  const settings = temporalSettingsFromEnv();
  // The application role's own login (db/app-role.ts): refused in staging and production if it is
  // the owner's.
  const pool = createPool({
    connectionString: config.DATABASE_URL as string,
    max: 4,
    applicationName: 'dispatcher',
  });
  await assertLeastPrivilegedLogin(pool, config.APP_ENV, (m) => console.warn(`[dispatcher] ${m}`));
  await assertEnvironment(pool, config.APP_ENV);
  const connection = await Connection.connect({
    address: settings.address,
    tls: settings.tls,
    apiKey: settings.apiKey,
  });
  const dispatcher = new OutboxDispatcher(
    pool,
    new Client({ connection, namespace: settings.namespace }),
  );
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  console.log(`[dispatcher] draining the outbox into ${settings.address}`);
  const report = setInterval(
    () => console.log(`[dispatcher] ${JSON.stringify(dispatcher.stats)}`),
    10_000,
  );
  try {
    await dispatcher.run(stop.signal);
  } finally {
    clearInterval(report);
    await connection.close();
    await pool.end();
  }
}

main().catch((err: Error) => {
  console.error(`[dispatcher] fatal: ${err.message}`);
  process.exit(1);
});
