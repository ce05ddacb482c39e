// Environments that cannot mix: the configuration refuses what is missing, unknown, weak or of
// another environment, and the processes refuse a database of another environment.
import { ConfigError, loadConfig } from '../../config/env';
import { DEVELOPMENT_BANK_ACCOUNT_KEYS } from '../../payments/bank-account-crypto';
import { assertEnvironment, recordEnvironment } from '../../db/environment';
import { ADMIN_KEY } from '../api/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { processDatabaseUrl, runToEnd } from '../helpers/processes';
import { refuseOutsideDevelopment, resolveReviewsFromSimulatorTruth } from '../../cli/auto-resolve';

const db = useTestDatabase();
const STRONG = 'Zx8pQ2mV7rT4kW9nB3cJ6hL1sD5fG0aYuE';
const base = {
  APP_ENV: 'development',
  DATABASE_URL: 'postgres://u@h:5432/db',
  GATEWAY_SECRET: 'dev-only-gateway-secret-change-me',
  GATEWAY_URL: 'http://127.0.0.1:4100',
  ADMIN_API_KEY: ADMIN_KEY,
};
const OWNER_URL = 'postgres://lending_owner@db:5432/lending';
const production = {
  APP_ENV: 'production',
  DATABASE_URL: 'postgres://lending_app@db:5432/lending?sslmode=verify-full',
  TEMPORAL_NAMESPACE: 'lending-production',
  GATEWAY_MERCHANT_ID: 'lending-production',
  GATEWAY_URL: 'https://psp.example/api',
  GATEWAY_SECRET: 'q'.repeat(8) + STRONG,
  ADMIN_API_KEY: STRONG,
  TEMPORAL_API_KEY: 'a-temporal-cloud-api-key',
  BANK_ACCOUNT_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
};
/**
 * Staging: the same rules but TLS, so a process can be started against the test cluster (no TLS
 * here).
 */
const { TEMPORAL_API_KEY: _cloudKey, ...productionWithoutTemporalKey } = production;
const staging = {
  ...productionWithoutTemporalKey,
  APP_ENV: 'staging',
  TEMPORAL_NAMESPACE: 'lending-staging',
  GATEWAY_MERCHANT_ID: 'lending-staging',
};
const problems = (component: Parameters<typeof loadConfig>[0], env: Record<string, string>) => {
  try {
    loadConfig(component, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

it('refuses staging and production without a real bank account key, and a malformed one', () => {
  const { BANK_ACCOUNT_ENCRYPTION_KEYS: _key, ...withoutKey } = production;
  for (const component of ['api', 'worker'] as const)
    expect(problems(component, withoutKey)).toContainEqual(
      expect.stringMatching(/^BANK_ACCOUNT_ENCRYPTION_KEYS must be set to real keys/),
    );
  expect(
    problems('api', { ...production, BANK_ACCOUNT_ENCRYPTION_KEYS: DEVELOPMENT_BANK_ACCOUNT_KEYS }),
  ).toContainEqual(expect.stringMatching(/^BANK_ACCOUNT_ENCRYPTION_KEYS must be set to real keys/));
  expect(problems('api', { ...base, BANK_ACCOUNT_ENCRYPTION_KEYS: 'k1:short' })).toContainEqual(
    expect.stringMatching(/^BANK_ACCOUNT_ENCRYPTION_KEYS: must be id:base64key/),
  );
  // A rotation lists the new key first and the old one after it.
  const rotated = `k2:${Buffer.alloc(32, 9).toString('base64')},${production.BANK_ACCOUNT_ENCRYPTION_KEYS}`;
  expect(problems('api', { ...production, BANK_ACCOUNT_ENCRYPTION_KEYS: rotated })).toEqual([]);
  expect(problems('api', base)).toEqual([]);
});

it('accepts a development and a well-formed production configuration, typed', () => {
  expect(loadConfig('api', base)).toMatchObject({
    APP_ENV: 'development',
    API_PORT: 3000,
    TEMPORAL_NAMESPACE: 'default',
  });
  expect(loadConfig('api', { ...production, API_PORT: '8080' }).API_PORT).toBe(8080);
  // Temporal Cloud names a namespace `<name>.<account id>` (docs/scaling.md).
  expect(
    loadConfig('worker', { ...production, TEMPORAL_NAMESPACE: 'lending-production.a2dd6' })
      .TEMPORAL_NAMESPACE,
  ).toBe('lending-production.a2dd6');
  // Migrations need the owner's login and nothing else; the development stack gives both URLs to
  // everything.
  const { DATABASE_URL: _app, ...withoutAppLogin } = production;
  expect(
    loadConfig('migrate', {
      ...withoutAppLogin,
      MIGRATION_DATABASE_URL: `${OWNER_URL}?sslmode=verify-full`,
    }).MIGRATION_DATABASE_URL,
  ).toBe(`${OWNER_URL}?sslmode=verify-full`);
  expect(loadConfig('api', { ...base, MIGRATION_DATABASE_URL: OWNER_URL })).toMatchObject({
    DATABASE_URL: base.DATABASE_URL,
    MIGRATION_DATABASE_URL: OWNER_URL,
  });
});

it.each([
  ['APP_ENV missing', 'api', { ...base, APP_ENV: undefined }, /APP_ENV/],
  ['APP_ENV unknown', 'api', { ...base, APP_ENV: 'prod' }, /APP_ENV: must be one of/],
  [
    'an unknown APP_ variable',
    'worker',
    { ...base, APP_ENVIRONMENT: 'x' },
    /APP_ENVIRONMENT is not a setting/,
  ],
  [
    'DATABASE_URL missing',
    'dispatcher',
    { ...base, DATABASE_URL: undefined },
    /DATABASE_URL is required by the dispatcher/,
  ],
  [
    "migrations without the owner's login",
    'migrate',
    { ...base },
    /MIGRATION_DATABASE_URL is required by the migrate/,
  ],
  [
    "a malformed owner's URL",
    'migrate',
    { ...base, MIGRATION_DATABASE_URL: 'mysql://root@db/lending' },
    /MIGRATION_DATABASE_URL: must be a postgres:\/\/ URL/,
  ],
  [
    'the role to SET ROLE to (the old way: the login was the owner)',
    'worker',
    { ...base, DATABASE_ROLE: 'lending_app' },
    /DATABASE_ROLE is no longer read: DATABASE_URL must log in as the application role/,
  ],
  [
    "the owner's login given to a process in production",
    'api',
    { ...production, MIGRATION_DATABASE_URL: OWNER_URL },
    /MIGRATION_DATABASE_URL \(the owner's login\) must not be given to the api/,
  ],
  [
    "the owner's login given to a process in staging",
    'dispatcher',
    {
      ...production,
      APP_ENV: 'staging',
      TEMPORAL_NAMESPACE: 'lending-staging',
      GATEWAY_MERCHANT_ID: 'lending-staging',
      MIGRATION_DATABASE_URL: OWNER_URL,
    },
    /must not be given to the dispatcher/,
  ],
  [
    'the worker without a gateway',
    'worker',
    { ...base, GATEWAY_URL: undefined },
    /GATEWAY_URL is required/,
  ],
  ['a malformed port', 'api', { ...base, API_PORT: 'eighty' }, /API_PORT/],
  [
    'a staging namespace in development',
    'worker',
    { ...base, TEMPORAL_NAMESPACE: 'lending-staging' },
    /belongs to staging, but APP_ENV is development/,
  ],
  [
    'a production merchant in test',
    'worker',
    { ...base, APP_ENV: 'test', GATEWAY_MERCHANT_ID: 'lending-production' },
    /belongs to production/,
  ],
  [
    'production with the default namespace',
    'worker',
    { ...production, TEMPORAL_NAMESPACE: 'default' },
    /must end with -production/,
  ],
  [
    'a staging Temporal Cloud namespace in production',
    'worker',
    { ...production, TEMPORAL_NAMESPACE: 'lending-staging.a2dd6' },
    /belongs to staging, but APP_ENV is production/,
  ],
  [
    'production with the development secret',
    'api',
    { ...production, GATEWAY_SECRET: 'dev-only-gateway-secret-change-me' },
    /default or example secret/,
  ],
  [
    'production without an admin key',
    'api',
    { ...production, ADMIN_API_KEY: undefined },
    /ADMIN_API_KEY is required/,
  ],
  [
    'production with the test admin key',
    'api',
    { ...production, ADMIN_API_KEY: ADMIN_KEY },
    /example key/,
  ],
  [
    'production with a short admin key',
    'api',
    { ...production, ADMIN_API_KEY: 'abcdefghijklmnopqrstu' },
    /at least 32/,
  ],
  [
    'production over plain http',
    'worker',
    { ...production, GATEWAY_URL: 'http://psp.example' },
    /https/,
  ],
  [
    'production on Postgres without TLS',
    'api',
    { ...production, DATABASE_URL: 'postgres://lending_app@db:5432/lending' },
    /DATABASE_URL must use TLS with the server verified in production: .* it has no sslmode/,
  ],
  [
    'production on Postgres with TLS that verifies nobody',
    'worker',
    { ...production, DATABASE_URL: 'postgres://lending_app@db:5432/lending?sslmode=require' },
    /it has sslmode=require/,
  ],
  [
    'production migrations without TLS',
    'migrate',
    { ...production, DATABASE_URL: undefined, MIGRATION_DATABASE_URL: OWNER_URL } as never,
    /MIGRATION_DATABASE_URL must use TLS/,
  ],
  [
    'production on Temporal without TLS',
    'dispatcher',
    productionWithoutTemporalKey,
    /Temporal must be reached over TLS in production/,
  ],
])('refuses %s', (_label, component, env, pattern) => {
  const found = problems(
    component as 'api',
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<
      string,
      string
    >,
  );
  expect(found.join('\n')).toMatch(pattern);
});

it('a database records its environment once; another environment is refused, and the record cannot change', async () => {
  await expect(assertEnvironment(db.pool, 'test')).resolves.toBeUndefined();
  await expect(assertEnvironment(db.pool, 'production')).rejects.toThrow(
    /belongs to test, but APP_ENV is production/,
  );
  await expect(recordEnvironment(db.pool, 'staging')).rejects.toThrow(/belongs to test/);
  await expect(
    db.pool.query(`UPDATE app_environment SET environment = 'production'`),
  ).rejects.toThrow(/never changes/);
  await expect(db.pool.query('DELETE FROM app_environment')).rejects.toThrow(/never changes/);
});

it('the real processes refuse to start: the API against a test database as staging, the simulator in production', async () => {
  const api = await runToEnd(
    'api/server.ts',
    [],
    {
      ...staging,
      DATABASE_URL: processDatabaseUrl(db),
      API_PORT: '0',
      LOG_LEVEL: 'warn',
    },
    60_000,
  );
  expect(api.output).toMatch(/belongs to test, but APP_ENV is staging: refusing to start/);
  expect(api.code).not.toBe(0);
  const sim = await runToEnd(
    'gateway/simulator-main.ts',
    ['--port', '0'],
    { APP_ENV: 'production' },
    60_000,
  );
  expect(sim.output).toMatch(/refusing to run with APP_ENV=production/);
  expect(sim.code).toBe(78);
  for (const appEnv of [undefined, 'prod', 'Development']) {
    // anything but development or test, exactly
    const other = await runToEnd(
      'gateway/simulator-main.ts',
      ['--port', '0'],
      { APP_ENV: appEnv } as Record<string, string>,
      60_000,
    );
    expect(other.output).toMatch(/gateway simulator: refusing to run with APP_ENV=/);
    expect(other.code).toBe(78);
  }
  const typo = await runToEnd(
    'worker/dispatcher-main.ts',
    [],
    { APP_ENV: 'test', APP_ENVV: 'x', DATABASE_URL: processDatabaseUrl(db) },
    60_000,
  );
  expect(typo.output).toMatch(/APP_ENVV is not a setting/);
  expect(typo.code).toBe(78);
}, 120_000);

it('a process in staging refuses a DATABASE_URL that logs in as the owner (a superuser here), before it reads anything; in test it says so and goes on', async () => {
  // The API above, with the application role's login, got past this check to the environment's.
  const api = await runToEnd(
    'api/server.ts',
    [],
    {
      ...staging,
      DATABASE_URL: processDatabaseUrl(db, 'owner'),
      API_PORT: '0',
      LOG_LEVEL: 'warn',
    },
    60_000,
  );
  expect(api.output).toMatch(
    /\[api\] fatal: refusing to start: DATABASE_URL logs in as postgres, which the application must not: postgres is a superuser\. Log in as lending_app/,
  );
  expect(api.output).not.toMatch(/belongs to test/);
  expect(api.code).not.toBe(0);
  // A test process on the owner's login: warned, then on to the environment check (passed) and to
  // Temporal (none on port 1).
  const dispatcher = await runToEnd(
    'worker/dispatcher-main.ts',
    [],
    {
      APP_ENV: 'test',
      DATABASE_URL: processDatabaseUrl(db, 'owner'),
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    },
    60_000,
  );
  expect(dispatcher.output).toMatch(
    /\[dispatcher\] warning: DATABASE_URL logs in as postgres, .*\(allowed in test only\)/,
  );
  expect(dispatcher.output).not.toMatch(/refusing to start|records no environment|belongs to/);
  expect(dispatcher.code).not.toBe(0);
  // And the other way round: migrations given the application's login cannot run, and say why.
  const migrate = await runToEnd(
    'db/migrate-cli.ts',
    [],
    { APP_ENV: 'test', MIGRATION_DATABASE_URL: processDatabaseUrl(db) },
    60_000,
  );
  expect(migrate.output).toMatch(
    /\[migrate\] error: permission denied .*\(MIGRATION_DATABASE_URL logs in as lending_app: it must be the schema's owner/,
  );
  expect(migrate.code).toBe(1);
}, 180_000);

it("auto-resolve, which trusts the simulator's record, refuses to run outside development and test", async () => {
  for (const appEnv of ['production', 'staging', undefined, 'dev'])
    expect(() => refuseOutsideDevelopment(appEnv)).toThrow(/refused with APP_ENV=/);
  for (const appEnv of ['development', 'test'])
    expect(() => refuseOutsideDevelopment(appEnv)).not.toThrow();
  const before = process.env.APP_ENV;
  process.env.APP_ENV = 'production';
  try {
    await expect(
      resolveReviewsFromSimulatorTruth(undefined as never, 'http://127.0.0.1:1', async () => true),
    ).rejects.toThrow(/APP_ENV=production/);
  } finally {
    process.env.APP_ENV = before;
  }
});
