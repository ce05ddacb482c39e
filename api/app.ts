// The HTTP API (API.md): strict schemas, bearer keys with roles, one error shape, OpenAPI.
import helmet from '@fastify/helmet';
import { declareCommonResponses } from './contract';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { createAuthenticator, type Principal } from './auth';
import {
  DEVELOPMENT_KEY_POLICY,
  refuseBootstrapBeyondFirstAdmin,
  type KeyPolicy,
} from './key-policy';
import { answerClientError } from './client-errors';
import { ApiError, DATABASE_RETRY_AFTER_SECONDS, errorBody, toApiError } from './errors';
import {
  DEFAULT_FAILED_AUTH_LIMITS,
  FailedAuthLimiter,
  type FailedAuthLimits,
} from './failed-auth-limiter';
import { createMetrics, type Metrics } from './metrics';
import { declaredMethods, registerMethodNotAllowed } from './method-not-allowed';
import { ID_COMPONENT_SCHEMAS, invalidIdField } from './schemas';
import { API_PATH_PARAM_MAX } from '../ids/limits';
import { DEFAULT_PAID_APPROVAL_ABOVE_MINOR } from '../config/env';
import { registerApiKeyRoutes } from './routes/api-keys';
import { registerApprovalRoutes } from './routes/approvals';
import { registerAuditRoutes } from './routes/audit';
import { registerControlRoutes } from './routes/controls';
import { registerBankAccountResealRoute } from './routes/bank-account-reseal';
import { registerBankAccountRoutes } from './routes/bank-accounts';
import { registerDepositRoutes } from './routes/deposits';
import { registerGatewayNotificationRoutes } from './routes/gateway-notifications';
import { registerHealthRoutes } from './routes/health';
import { registerInvestorRoutes } from './routes/investors';
import { registerLedgerRoutes } from './routes/ledger';
import { registerLimitRoutes } from './routes/limits';
import { registerLoanRoutes } from './routes/loans';
import { registerPartyRoutes } from './routes/parties';
import { registerPayoutRoutes } from './routes/payouts';
import { registerReconciliationRoutes } from './routes/reconciliations';
import { registerRecoveryRoutes } from './routes/recoveries';
import { registerRepaymentRoutes } from './routes/repayments';
import { registerReviewRoutes } from './routes/reviews';
import { registerStatementRoutes } from './routes/statements';
import { registerWithdrawalRoutes } from './routes/withdrawals';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export interface AppDeps {
  pool: Pool;
  /** For the routes that talk to workflows (manual reviews); without it they answer 503. */
  temporal?: Client;
  /**
   * Verifies the gateway's notification signatures; without it the notification route answers 503.
   */
  gatewaySecret?: string;
  /** The gateway secret being retired during a rotation: notices signed with it still verify. */
  previousGatewaySecret?: string;
  adminApiKey?: string;
  /** Requests per minute per API key (or per address before authentication). */
  rateLimitPerMinute?: number;
  /** TRUST_PROXY (config/env.ts): the proxies whose X-Forwarded-For names the client. */
  trustProxy?: string;
  /** Failed authentication per address (api/failed-auth-limiter.ts); tests shorten it. */
  failedAuthLimits?: FailedAuthLimits;
  logger?: FastifyServerOptions['logger'];
  /**
   * How keys are issued (api/key-policy.ts); without it, development's: the bootstrap key does
   * everything, no lifetime cap.
   */
  keyPolicy?: KeyPolicy;
  /** The withdrawal cooling-off after an account is added; none unless given. */
  bankAccountCoolingOffSeconds?: number;
  /**
   * A review's `paid` above this (minor units) waits for a second operator (maker-checker);
   * DEFAULT_PAID_APPROVAL_ABOVE_MINOR unless given.
   */
  paidApprovalAboveMinor?: bigint;
}

export interface AppContext {
  pool: Pool;
  metrics: Metrics;
  temporal?: Client;
  keyPolicy: KeyPolicy;
  /** How long after a bank account is added the party's withdrawals are refused (config/env.ts). */
  bankAccountCoolingOffSeconds: number;
  /** A review's `paid` above this (minor units) waits for a second operator (config/env.ts). */
  paidApprovalAboveMinor: bigint;
}

/**
 * Routes that need no API key (the notification route checks the gateway's HMAC instead);
 * everything else is authenticated before its handler runs.
 */
const PUBLIC_ROUTES = new Set([
  '/healthz',
  '/metrics',
  '/v1/openapi.json',
  '/v1/gateway/notifications',
]);

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = createFastify(deps);
  const metrics = createMetrics();
  const keyPolicy = deps.keyPolicy ?? DEVELOPMENT_KEY_POLICY;
  const context: AppContext = {
    pool: deps.pool,
    metrics,
    temporal: deps.temporal,
    keyPolicy,
    bankAccountCoolingOffSeconds: deps.bankAccountCoolingOffSeconds ?? 0,
    paidApprovalAboveMinor: deps.paidApprovalAboveMinor ?? DEFAULT_PAID_APPROVAL_ABOVE_MINOR,
  };

  await app.register(helmet, { contentSecurityPolicy: false });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Lending money core API', version: '1.0.0' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        schemas: ID_COMPONENT_SCHEMAS,
      },
      security: [{ bearer: [] }],
    },
  });
  app.decorateRequest('principal', null as unknown as Principal);
  const declared = declaredMethods(app);
  declareCommonResponses(app);

  authenticateRequests(app, deps, context);
  await app.register(rateLimit, {
    max: deps.rateLimitPerMinute ?? 6000,
    timeWindow: 60_000,
    hook: 'preHandler', // after authentication: limit per key, not only per address
    keyGenerator: (request) =>
      request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      ...errorBody(
        'RATE_LIMITED',
        `too many requests: retry in ${Math.ceil(context.ttl / 1000)} s`,
      ),
    }),
  });
  refuseNulCharacters(app);
  countRequests(app, metrics);
  app.setErrorHandler(replyWithError);
  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).send(errorBody('NOT_FOUND', 'no such route')),
  );

  registerRoutes(app, context, deps);
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Last, as a plugin: it runs after the routes that plugins register (the gateway notice's).
  await app.register(async (instance) => registerMethodNotAllowed(instance, declared));
  return app;
}

/** The server's limits, its framework refusals in the API's shape, and strict validation. */
function createFastify(deps: AppDeps): FastifyInstance {
  return Fastify({
    logger: deps.logger ?? false,
    // One log line per request would cost more than the request on the rush path; errors are
    // logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // request.ip, which the failed-auth and rate limits count, is the client behind these only
    ...(deps.trustProxy ? { trustProxy: deps.trustProxy } : {}),
    // Every id the platform derives must be reachable in a path (the default, 100, is shorter).
    routerOptions: { maxParamLength: API_PATH_PARAM_MAX },
    // Refusals before routing in the API's own shape: a path id past every id's limit is a bad id.
    frameworkErrors: (error, _request, frameworkReply) => {
      const id = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      // typed for a route schema it does not have
      const reply = frameworkReply as unknown as FastifyReply;
      void reply
        .code(id ? 422 : 400)
        .send(
          id
            ? errorBody(
                'INVALID_ID',
                `a path parameter is longer than ${API_PATH_PARAM_MAX} characters: no id is`,
                { field: 'path' },
              )
            : errorBody('INVALID_REQUEST', error.message),
        );
    },
    // what the HTTP parser refuses, in the API's error shape (414, 431, 408, 400)
    clientErrorHandler: answerClientError,
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    // Money must not be coerced ("1000" vs 1000) and unknown fields must be refused, not dropped.
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: true,
        allErrors: false,
      },
    },
  });
}

/**
 * Every route but the public ones gets its principal from the bearer key before its handler runs.
 */
function authenticateRequests(app: FastifyInstance, deps: AppDeps, context: AppContext): void {
  const { metrics, keyPolicy } = context;
  const authenticator = createAuthenticator(deps.pool, deps.adminApiKey);
  const failedAuth = new FailedAuthLimiter(
    deps.failedAuthLimits ?? DEFAULT_FAILED_AUTH_LIMITS,
    (address, failures) => {
      app.log.error(
        { address, failures, alert: 'failed_authentication_flood' },
        'ALERT: failed authentication flood from one address',
      );
    },
  );
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (
      route === undefined ||
      PUBLIC_ROUTES.has(route) ||
      request.routeOptions.config.methodNotAllowed
    )
      return;
    // An address that keeps failing is refused before any database work.
    const waitMs = failedAuth.refusedFor(request.ip, Date.now());
    if (waitMs !== undefined) {
      failedAuth.failed(request.ip, Date.now());
      metrics.failedAuthRefused.inc();
      reply.header('retry-after', String(Math.max(1, Math.ceil(waitMs / 1000))));
      throw new ApiError(
        429,
        'TOO_MANY_FAILED_AUTHENTICATIONS',
        `too many failed authentications from this address: retry in ${Math.ceil(waitMs / 1000)} s`,
      );
    }
    try {
      request.principal = await authenticator.authenticate(request.headers.authorization);
    } catch (err) {
      if (toApiError(err)?.statusCode === 401) failedAuth.failed(request.ip, Date.now());
      throw err;
    }
    refuseBootstrapBeyondFirstAdmin(keyPolicy, request.principal, request.method, route);
  });
}

/**
 * Postgres text cannot hold U+0000: a NUL anywhere in the parsed input is refused at the edge,
 * before any handler runs (a raw body, such as a gateway notice's, is checked where it is parsed).
 */
function refuseNulCharacters(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const where =
      nulAt(request.body, 'body') ?? nulAt(request.query, 'query') ?? nulAt(request.params, 'path');
    if (where !== undefined)
      throw new ApiError(400, 'INVALID_REQUEST', `${where} contains a NUL character`);
  });
}

/** Every answer counted and timed by route, method and status. */
function countRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });
}

/** Every error in the one error shape: known refusals as they are, internals never shown. */
function replyWithError(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const known = toApiError(err);
  if (known?.code === 'DATABASE_UNAVAILABLE') {
    request.log.warn({ err }, 'database unavailable');
    reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
  }
  if (known)
    return reply.status(known.statusCode).send(errorBody(known.code, known.message, known.details));
  const e = err as { validation?: unknown; statusCode?: number; code?: string; message: string };
  if (e.validation) {
    const id = invalidIdField(e.validation);
    if (id)
      return reply
        .status(422)
        .send(errorBody('INVALID_ID', `${id.field} must be ${id.contract}`, { field: id.field }));
    return reply.status(400).send(errorBody('INVALID_REQUEST', e.message));
  }
  if (e.statusCode === 429) return reply.status(429).send(err);
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return reply.status(e.statusCode).send(errorBody(e.code ?? 'BAD_REQUEST', e.message));
  }
  // Internals stay in the log, never in the response.
  request.log.error({ err }, 'unhandled error');
  return reply.status(500).send(errorBody('INTERNAL', 'internal error'));
}

/** Every resource's routes, in this order (the OpenAPI document lists them so). */
function registerRoutes(app: FastifyInstance, context: AppContext, deps: AppDeps): void {
  registerHealthRoutes(app, context);
  registerPartyRoutes(app, context);
  registerApiKeyRoutes(app, context);
  registerInvestorRoutes(app, context);
  registerStatementRoutes(app, context);
  registerLedgerRoutes(app, context);
  registerLimitRoutes(app, context);
  registerLoanRoutes(app, context);
  registerBankAccountRoutes(app, context);
  registerBankAccountResealRoute(app, context);
  registerDepositRoutes(app, context);
  registerWithdrawalRoutes(app, context);
  registerApprovalRoutes(app, context);
  registerReviewRoutes(app, context);
  registerPayoutRoutes(app, context);
  registerRepaymentRoutes(app, context);
  registerReconciliationRoutes(app, context);
  registerRecoveryRoutes(app, context);
  registerAuditRoutes(app, context);
  registerControlRoutes(app, context);
  registerGatewayNotificationRoutes(app, context, deps.gatewaySecret, deps.previousGatewaySecret);
}

/**
 * Where in a parsed input a string holds a NUL character (`body.bankAccount.accountName`), if
 * anywhere.
 */
function nulAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    if (key.includes('\u0000')) return `${path} key`;
    const found = nulAt(inner, `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}
