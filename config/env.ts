// The one typed configuration of the API, the worker, the dispatcher and migrations: every
// variable named, typed and checked at start-up (zod), documented in README.md ("Configuration").
// A process with a missing or malformed variable, an unknown APP_* variable, or settings that
// mix environments stops with a message saying which and why.
import { z } from 'zod';
import { DEFAULT_CURRENCY } from '../ledger/currency';
import { parseAmount } from '../ledger/money';
import { DEVELOPMENT_BANK_ACCOUNT_KEYS } from '../payments/bank-account-crypto';

export const APP_ENVS = ['development', 'test', 'staging', 'production'] as const;
export type AppEnv = (typeof APP_ENVS)[number];

/**
 * Where test doubles and tools that trust them (the gateway simulator, auto-resolve) may run:
 * exactly these.
 */
export const isDevelopmentOrTest = (appEnv: string | undefined): boolean =>
  appEnv === 'development' || appEnv === 'test';
export type Component = 'api' | 'worker' | 'dispatcher' | 'migrate';

/** Secrets that were ever written down as examples or defaults: never accepted where it matters. */
const KNOWN_SECRETS = [
  'dev-only-gateway-secret-change-me',
  'test-secret-0123456789abcdef',
  'unused-in-this-test-0123456789',
  'changeme',
  'secret',
];
const KNOWN_ADMIN_KEYS = ['test-admin-key-0123456789abcdef0123456789'];

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL');

const schema = z.object({
  APP_ENV: z.enum(APP_ENVS, {
    errorMap: () => ({ message: `must be one of ${APP_ENVS.join(', ')}` }),
  }),
  /**
   * The API's, the worker's and the dispatcher's login: the application role itself
   * (db/app-role.ts), never the owner.
   */
  DATABASE_URL: postgresUrl.optional(),
  /** The schema owner's login: what migrations run as, and nothing else. */
  MIGRATION_DATABASE_URL: postgresUrl.optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'must be host:port')
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/)
    .default('default'),
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  TEMPORAL_TLS_CA: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  TEMPORAL_API_KEY: z.string().optional(),
  GATEWAY_URL: z.string().url().optional(),
  GATEWAY_MERCHANT_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('lending-core'),
  GATEWAY_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * During a rotation of the gateway's secret: the old one, still accepted on notices until the
   * gateway signs with the new (api).
   */
  GATEWAY_SECRET_PREVIOUS: z.string().min(16, 'must be at least 16 characters').optional(),
  ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port.default(3000),
  API_DB_POOL: positiveInt.max(200).default(20),
  API_RATE_LIMIT_PER_MINUTE: positiveInt.optional(),
  /**
   * The load balancers in front of the API, by address or CIDR, comma-separated: their
   * X-Forwarded-For names the client the limits count. Unset: the socket's address (a proxy would
   * make every client one address). Never "true": any client could then name itself.
   */
  TRUST_PROXY: z
    .string()
    .regex(/^[0-9A-Fa-f:.]+(\/[0-9]{1,3})?(,[0-9A-Fa-f:.]+(\/[0-9]{1,3})?)*$/)
    .optional(),
  /**
   * Every API key expires within this many days of issue; default 90 in staging and production, no
   * cap elsewhere (api/key-policy.ts).
   */
  API_KEY_MAX_LIFETIME_DAYS: positiveInt.max(3_650).optional(),
  /**
   * Stored Idempotency-Key responses are pruned after this many hours (the worker's hourly
   * schedule); a retry after that runs again.
   */
  IDEMPOTENCY_RETENTION_HOURS: positiveInt
    .min(1)
    .max(24 * 365)
    .optional(),
  /**
   * Bank account numbers are sealed with these keys (payments/bank-account-crypto.ts):
   * `id:base64(32 bytes)` comma-separated, the first current; older ones stay listed to read old
   * rows. Development's public key where unset; staging and production refuse to start without one.
   */
  BANK_ACCOUNT_ENCRYPTION_KEYS: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/]{43}=(,[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/]{43}=)*$/,
      'must be id:base64key[,id:base64key...]',
    )
    .optional(),
  /**
   * After a bank account is added, the party's withdrawals wait this long (a stolen key cannot
   * add an account and empty the balance at once); default a day in staging and production, none
   * elsewhere.
   */
  BANK_ACCOUNT_COOLING_OFF_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .optional(),
  /**
   * A review's `paid` decision above this amount (in the platform's currency, e.g. 50000.00) waits
   * for a second operator's approval (maker-checker); every write-off, manual recovery, adjustment
   * and manual payout run waits whatever its amount.
   */
  APPROVAL_PAID_ABOVE: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,14})\.[0-9]{2}$/, 'must be an amount such as 50000.00')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export type AppConfig = z.infer<typeof schema>;

/** What each component cannot run without. */
const REQUIRED: Record<Component, (keyof AppConfig)[]> = {
  api: ['DATABASE_URL', 'GATEWAY_SECRET', 'ADMIN_API_KEY'],
  worker: ['DATABASE_URL', 'GATEWAY_URL', 'GATEWAY_SECRET'],
  dispatcher: ['DATABASE_URL'],
  migrate: ['MIGRATION_DATABASE_URL'],
};

/**
 * The withdrawal cooling-off after an account is added: a day in staging and production unless
 * set.
 */
export function bankAccountCoolingOffSeconds(c: AppConfig): number {
  if (c.BANK_ACCOUNT_COOLING_OFF_SECONDS !== undefined) return c.BANK_ACCOUNT_COOLING_OFF_SECONDS;
  return isDevelopmentOrTest(c.APP_ENV) ? 0 : 86_400;
}

/** A review's `paid` above 50,000.00 waits for a second operator, unless APPROVAL_PAID_ABOVE. */
export const DEFAULT_PAID_APPROVAL_ABOVE_MINOR = 5_000_000n;

/** The maker-checker threshold for a review's `paid`, in minor units. */
export function paidApprovalAboveMinor(c: AppConfig): bigint {
  if (c.APPROVAL_PAID_ABOVE === undefined) return DEFAULT_PAID_APPROVAL_ABOVE_MINOR;
  return parseAmount(c.APPROVAL_PAID_ABOVE, DEFAULT_CURRENCY);
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`configuration refused:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** The environment a name carries, if it ends with -development, -test, -staging or -production. */
function environmentOf(name: string): AppEnv | undefined {
  return APP_ENVS.find((env) => name.endsWith(`-${env}`));
}

export function loadConfig(component: Component, env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];
  const known = new Set(Object.keys(schema.shape));
  for (const name of Object.keys(env))
    if (name.startsWith('APP_') && !known.has(name))
      problems.push(`${name} is not a setting of this system (a typo?)`);
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`${issue.path.join('.') || 'environment'}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  const c = parsed.data;
  for (const name of REQUIRED[component])
    if (c[name] === undefined) problems.push(`${name} is required by the ${component}`);
  // The processes used to log in as the owner and take this role, which SET ROLE NONE undid.
  if (env.DATABASE_ROLE !== undefined)
    problems.push(
      'DATABASE_ROLE is no longer read: DATABASE_URL must log in as the application role itself (README, "Running in production")',
    );
  if (Boolean(c.TEMPORAL_TLS_CERT) !== Boolean(c.TEMPORAL_TLS_KEY))
    problems.push('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
  if (component === 'api' && c.ADMIN_API_KEY && c.ADMIN_API_KEY.length < 32)
    problems.push('ADMIN_API_KEY must be at least 32 random characters');
  if (c.GATEWAY_SECRET_PREVIOUS !== undefined && c.GATEWAY_SECRET_PREVIOUS === c.GATEWAY_SECRET)
    problems.push(
      'GATEWAY_SECRET_PREVIOUS is the same as GATEWAY_SECRET: set it to the secret being retired, or unset it',
    );

  problems.push(...environmentNameProblems(c));
  if (c.APP_ENV === 'staging' || c.APP_ENV === 'production')
    problems.push(...deployedProblems(component, c));
  if (c.APP_ENV === 'production') problems.push(...tlsProblems(component, c));
  if (problems.length > 0) throw new ConfigError(problems);
  return c;
}

/**
 * Names that carry an environment must carry this one: a staging worker never talks to
 * production. A Temporal Cloud namespace id is `<name>.<account id>`: the environment is in the
 * name.
 */
function environmentNameProblems(c: AppConfig): string[] {
  const problems: string[] = [];
  for (const [name, value, named] of [
    ['TEMPORAL_NAMESPACE', c.TEMPORAL_NAMESPACE, c.TEMPORAL_NAMESPACE.split('.')[0]],
    ['GATEWAY_MERCHANT_ID', c.GATEWAY_MERCHANT_ID, c.GATEWAY_MERCHANT_ID],
  ] as const) {
    const carried = environmentOf(named);
    if (carried && carried !== c.APP_ENV)
      problems.push(`${name} ${value} belongs to ${carried}, but APP_ENV is ${c.APP_ENV}`);
    if (!carried && (c.APP_ENV === 'staging' || c.APP_ENV === 'production'))
      problems.push(`${name} must end with -${c.APP_ENV} in ${c.APP_ENV} (it is ${value})`);
  }
  return problems;
}

/**
 * Staging and production: no example secrets or keys, the owner's login only for migrations, and
 * the gateway over https.
 */
function deployedProblems(component: Component, c: AppConfig): string[] {
  const problems: string[] = [];
  if (
    c.GATEWAY_SECRET &&
    (KNOWN_SECRETS.includes(c.GATEWAY_SECRET) || c.GATEWAY_SECRET.length < 32)
  )
    problems.push('GATEWAY_SECRET is a default or example secret, or shorter than 32 characters');
  if (
    c.GATEWAY_SECRET_PREVIOUS &&
    (KNOWN_SECRETS.includes(c.GATEWAY_SECRET_PREVIOUS) || c.GATEWAY_SECRET_PREVIOUS.length < 32)
  )
    problems.push(
      'GATEWAY_SECRET_PREVIOUS is a default or example secret, or shorter than 32 characters',
    );
  if (
    component === 'api' &&
    c.ADMIN_API_KEY &&
    (KNOWN_ADMIN_KEYS.includes(c.ADMIN_API_KEY) || new Set(c.ADMIN_API_KEY).size < 10)
  ) {
    problems.push('ADMIN_API_KEY is an example key or not random: set a strong one explicitly');
  }
  if (
    (component === 'api' || component === 'worker') &&
    (!c.BANK_ACCOUNT_ENCRYPTION_KEYS ||
      c.BANK_ACCOUNT_ENCRYPTION_KEYS.includes(DEVELOPMENT_BANK_ACCOUNT_KEYS.split(':')[1]))
  )
    problems.push(
      'BANK_ACCOUNT_ENCRYPTION_KEYS must be set to real keys: id:base64(32 random bytes), the current first',
    );
  // The owner's login stays with the migrations: a process that does not run them never holds it.
  if (component !== 'migrate' && c.MIGRATION_DATABASE_URL !== undefined) {
    problems.push(
      `MIGRATION_DATABASE_URL (the owner's login) must not be given to the ${component}: only migrations use it`,
    );
  }
  if (
    c.GATEWAY_URL?.startsWith('http://') &&
    !/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(c.GATEWAY_URL)
  )
    problems.push('GATEWAY_URL must be https');
  return problems;
}

/**
 * Postgres connections whose certificate is checked: sslmode=require encrypts but would talk to
 * anyone who answers.
 */
const VERIFIED_SSLMODES = ['verify-ca', 'verify-full'];

/**
 * In production every connection to Postgres and to Temporal is TLS with the server's certificate
 * verified: sslmode=verify-full (or verify-ca) in the database URL, and mutual TLS or an API key
 * (which implies TLS) for Temporal. Development, test and staging may run on a private network.
 */
function tlsProblems(component: Component, c: AppConfig): string[] {
  const problems: string[] = [];
  const urls =
    component === 'migrate'
      ? [['MIGRATION_DATABASE_URL', c.MIGRATION_DATABASE_URL]]
      : [['DATABASE_URL', c.DATABASE_URL]];
  for (const [name, url] of urls) {
    if (url === undefined) continue;
    const sslmode = new URL(url).searchParams.get('sslmode');
    if (!sslmode || !VERIFIED_SSLMODES.includes(sslmode)) {
      problems.push(
        `${name} must use TLS with the server verified in production: add sslmode=verify-full (and sslrootcert=<file> for a private CA); it has ${sslmode ? `sslmode=${sslmode}` : 'no sslmode'}`,
      );
    }
  }
  if (
    component !== 'migrate' &&
    !(c.TEMPORAL_TLS_CERT && c.TEMPORAL_TLS_KEY) &&
    !c.TEMPORAL_API_KEY
  ) {
    problems.push(
      'Temporal must be reached over TLS in production: set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (mutual TLS, with TEMPORAL_TLS_CA for a private CA) or TEMPORAL_API_KEY',
    );
  }
  return problems;
}

/** For entry points: the configuration, or a clear message and exit code 78 (EX_CONFIG). */
export function configOrExit(component: Component): AppConfig {
  try {
    return loadConfig(component);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`[${component}] ${err.message}`);
    process.exit(78);
  }
}
