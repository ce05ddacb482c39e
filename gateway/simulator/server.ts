/**
 * Builds and starts the simulator: fastify with strict schemas, the truth store, the order book,
 * the notifier, faults and outages wired together. Usable in-process (tests: port 0) and from
 * the CLI (gateway/simulator-main.ts).
 */
import { AccountHolders } from './account-holders';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { FaultPlan, FaultRate } from './faults';
import { Notifier, type DeliveryAttempt } from './notifier';
import { OrderBook } from './order-book';
import { registerControlRoutes } from './control-routes';
import { registerOrderRoutes } from './order-routes';
import { resolveOptions, type SimulatorInput, type SimulatorOptions } from './options';
import { Outage, type OutageMode } from './outage';
import { installRawJsonParser, merchantAuth } from './request-auth';
import { registerStatementRoute } from './statement-route';
import { StatementAdjustments } from './statement-adjustments';
import { Timers } from './timers';
import { TruthStore, type OrderRecord } from './truth-store';

export interface RunningSimulator {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  readonly options: SimulatorOptions;
  /** What the gateway really did (the journal's current state). */
  truth(): OrderRecord[];
  notifications(): DeliveryAttempt[];
  setFaultRates(rates: FaultRate[]): void;
  /** How many submits met each fault so far (`lie-failed:SYSTEM_BUSY`, `notify-late`, ...). */
  faultHits(): Record<string, number>;
  startOutage(mode: Exclude<OutageMode, 'none'>, durationMs?: number): Promise<void>;
  endOutage(): Promise<void>;
  close(): Promise<void>;
}

export async function startSimulator(input: SimulatorInput): Promise<RunningSimulator> {
  const options = resolveOptions(input);
  const timers = new Timers();
  const store = TruthStore.open(options.dataDir, { fsync: options.fsync });
  const faults = faultTable(options.faultRates);
  const app = createSimulatorApp(options);
  const notifier = new Notifier({
    url: options.notifyUrl,
    secret: options.secret,
    maxAttempts: options.notifyMaxAttempts,
    backoffMs: options.notifyBackoffMs,
    backoffMaxMs: options.notifyBackoffMaxMs,
    timeoutMs: options.notifyTimeoutMs,
    now: options.now,
    timers,
  });
  const book = new OrderBook({
    seed: options.seed,
    processingMs: options.processingMs,
    timeoutHoldMs: options.timeoutHoldMs,
    lateNotifyMs: options.lateNotifyMs,
    notifyGapMs: options.notifyGapMs,
    now: options.now,
    timers,
    store,
    notifier,
  });

  let port = options.port;
  const outage = new Outage(app.server, () => ({ port, host: options.host }), timers);
  app.addHook('onRequest', async (request, reply) => {
    if (outage.mode === '503' && !request.url.startsWith('/_sim/')) {
      return reply.code(503).send({ code: 'SERVICE_UNAVAILABLE', message: 'gateway outage' });
    }
    return undefined;
  });
  const parts = {
    options,
    timers,
    store,
    book,
    notifier,
    outage,
    faults,
    holders: new AccountHolders(),
  };
  registerSimulatorRoutes(app, parts);

  try {
    await app.listen({ port: options.port, host: options.host });
  } catch (err) {
    timers.close();
    store.close();
    throw err;
  }
  port = (app.server.address() as AddressInfo).port;
  return runningSimulator(app, port, parts);
}

/**
 * The fault rates in force (the control endpoint replaces them) and how many submits met each
 * fault.
 */
function faultTable(initial: FaultRate[]) {
  let rates = initial;
  const hits: Record<string, number> = {};
  return {
    rates: () => rates,
    setRates: (r: FaultRate[]) => {
      rates = r;
    },
    count: (plan: FaultPlan) => {
      const names = [
        ...(plan.call
          ? ['code' in plan.call ? `${plan.call.type}:${plan.call.code}` : plan.call.type]
          : []),
        ...plan.notify,
      ];
      for (const name of names) hits[name] = (hits[name] ?? 0) + 1;
    },
    hits: () => ({ ...hits }),
  };
}

type FaultTable = ReturnType<typeof faultTable>;

/** Fastify with strict schemas, the raw JSON parser, and errors in the gateway's own shape. */
function createSimulatorApp(options: SimulatorOptions): FastifyInstance {
  const app = Fastify({
    logger: options.log ? { level: 'info' } : false,
    // Held answers (timeout faults) must not keep close() waiting.
    forceCloseConnections: true,
    bodyLimit: 64 * 1024,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    // Money input: reject unknown fields and wrong types instead of dropping or coercing them.
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        allErrors: false,
      },
    },
  });
  installRawJsonParser(app);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (
      error.validation ||
      (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
    ) {
      return reply
        .code(error.statusCode ?? 400)
        .send({ code: 'INVALID_REQUEST', message: error.message });
    }
    request.log.error({ err: error }, 'simulator error');
    return reply.code(500).send({ code: 'SYSTEM_ERROR', message: 'internal error' });
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ code: 'NO_SUCH_ROUTE', message: 'no such route' }),
  );
  return app;
}

interface SimulatorParts {
  options: SimulatorOptions;
  timers: Timers;
  store: TruthStore;
  book: OrderBook;
  notifier: Notifier;
  outage: Outage;
  faults: FaultTable;
  holders: AccountHolders;
}

/** The merchant routes (signed), the statement file, and the /_sim/ control endpoints. */
function registerSimulatorRoutes(app: FastifyInstance, parts: SimulatorParts): void {
  const { options, timers, store, book, notifier, outage, faults, holders } = parts;
  const preValidation = merchantAuth(
    { merchantId: options.merchantId, secret: options.secret, alsoAccept: options.alsoAccept },
    options.now,
  );
  registerOrderRoutes(app, {
    book,
    holders,
    timers,
    seed: options.seed,
    timeoutHoldMs: options.timeoutHoldMs,
    faultRates: faults.rates,
    onFaults: faults.count,
    preValidation,
  });
  const adjustments = new StatementAdjustments();
  registerStatementRoute(app, { journalPath: store.journalPath, adjustments, preValidation });
  registerControlRoutes(app, {
    store,
    book,
    holders,
    adjustments,
    notifier,
    outage,
    seed: options.seed,
    getRates: faults.rates,
    setRates: faults.setRates,
  });
}

/** The handle a test or the CLI holds: the address, the truth, faults and outages, close(). */
function runningSimulator(
  app: FastifyInstance,
  port: number,
  parts: SimulatorParts,
): RunningSimulator {
  const { options, timers, store, notifier, outage, faults } = parts;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    options,
    truth: () => store.all(),
    notifications: () => notifier.attempts(),
    setFaultRates: faults.setRates,
    faultHits: faults.hits,
    startOutage: (mode, durationMs) => outage.start(mode, durationMs),
    endOutage: () => outage.end(),
    close: () => {
      closed ??= (async () => {
        timers.close();
        notifier.close();
        await app.close();
        store.close();
      })();
      return closed;
    },
  };
}
