/**
 * Control endpoints under /_sim/ (unauthenticated: the simulator binds to loopback; never expose
 * it). They stay up during a 503 outage so a test can end it.
 */
import type { FastifyInstance } from 'fastify';
import { formatWireAmount, parseWireAmount } from '../../ledger/money';
import { BANK_ACCOUNT_SCHEMA, ORDER_NO_PATTERN } from '../protocol';
import { FaultSpecError, parseFault, validateRates, type FaultRate } from './faults';
import type { Notifier } from './notifier';
import type { AccountHolders } from './account-holders';
import type { OrderBook } from './order-book';
import type { Outage } from './outage';
import type { StatementAdjustments } from './statement-adjustments';
import { recordToJson, type OrderRecord, type TruthStore } from './truth-store';

export interface ControlDeps {
  store: TruthStore;
  book: OrderBook;
  holders: AccountHolders;
  adjustments: StatementAdjustments;
  notifier: Notifier;
  outage: Outage;
  seed: string;
  getRates: () => readonly FaultRate[];
  setRates: (rates: FaultRate[]) => void;
}

/** A truth record for JSON: minor units as strings, plus the wire amounts for humans. */
export function truthJson(record: OrderRecord): Record<string, unknown> {
  return {
    ...recordToJson(record),
    amount: formatWireAmount(record.amountMinor, record.currency),
    ...(record.feeMinor === undefined
      ? {}
      : { fee: formatWireAmount(record.feeMinor, record.currency) }),
  };
}

export function registerControlRoutes(app: FastifyInstance, deps: ControlDeps): void {
  registerReadRoutes(app, deps);
  registerExecutedRoute(app, deps);
  registerStatementAdjustmentRoute(app, deps);
  registerFaultRatesRoute(app, deps);
  registerOutageRoute(app, deps);
  registerAccountHolderRoute(app, deps);
}

/** Who holds an account at the simulated bank: what a payout's payee name is checked against. */
function registerAccountHolderRoute(app: FastifyInstance, deps: ControlDeps): void {
  const { bankCode, accountNo, accountName } = BANK_ACCOUNT_SCHEMA.properties;
  app.post<{ Body: { bankCode: string; accountNo: string; holderName: string } }>(
    '/_sim/account-holders',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['bankCode', 'accountNo', 'holderName'],
          properties: { bankCode, accountNo, holderName: accountName },
        },
      },
    },
    async (request) => {
      const { holderName, ...account } = request.body;
      deps.holders.register(account, holderName);
      return { registered: true };
    },
  );
}

/** The seed, the rate table and the outage, as GET and POST /_sim/faults answer. */
function faultState(deps: ControlDeps): Record<string, unknown> {
  return {
    seed: deps.seed,
    rates: Object.fromEntries(deps.getRates().map((r) => [r.spec, r.rate])),
    outage: deps.outage.mode,
    ...(deps.outage.lastError === undefined ? {} : { outageError: deps.outage.lastError }),
  };
}

/** What the simulator holds: its health, the truth, the notices it sent, its faults. */
function registerReadRoutes(app: FastifyInstance, deps: ControlDeps): void {
  app.get('/_sim/health', async () => ({
    ok: true,
    orders: deps.store.all().length,
    outage: deps.outage.mode,
  }));

  app.get<{ Querystring: { orderNo?: string } }>('/_sim/truth', async (request) => {
    const { orderNo } = request.query;
    const records =
      orderNo === undefined
        ? deps.store.all()
        : [deps.store.get(orderNo)].filter((r): r is OrderRecord => r !== undefined);
    return { orders: records.map(truthJson) };
  });

  app.get<{ Querystring: { orderNo?: string } }>('/_sim/notifications', async (request) => {
    const { orderNo } = request.query;
    return {
      attempts: deps.notifier
        .attempts()
        .filter((a) => orderNo === undefined || a.orderNo === orderNo),
    };
  });

  app.get('/_sim/faults', async () => faultState(deps));
}

/**
 * An order the gateway executes without us having sent it: the incident's second-channel payment.
 */
function registerExecutedRoute(app: FastifyInstance, deps: ControlDeps): void {
  app.post<{
    Body: { kind: 'PAYOUT' | 'COLLECTION'; orderNo: string; amount: string; currency: string };
  }>(
    '/_sim/executed',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'orderNo', 'amount', 'currency'],
          properties: {
            kind: { enum: ['PAYOUT', 'COLLECTION'] },
            orderNo: { type: 'string', pattern: ORDER_NO_PATTERN.source },
            amount: { type: 'string' },
            currency: { type: 'string', pattern: '^[A-Z]{3}$' },
          },
        },
      },
    },
    async (request, reply) => {
      const { kind, orderNo, amount, currency } = request.body;
      if (deps.store.get(orderNo))
        return reply.code(409).send({ code: 'ORDER_EXISTS', message: `order ${orderNo} exists` });
      const record = deps.book.create(
        {
          kind,
          orderNo,
          amountMinor: parseWireAmount(amount, currency),
          currency,
          account: { bankCode: 'OTHER', accountNo: '000000', accountName: 'second channel' },
          memo: 'injected',
          requestHash: 'injected',
        },
        { notify: ['notify-none'] },
      );
      return truthJson(record);
    },
  );
}

/** Errors in the statement file for an order: another amount or fee, or the order listed twice. */
function registerStatementAdjustmentRoute(app: FastifyInstance, deps: ControlDeps): void {
  app.post<{
    Body: { orderNo: string; currency: string; amount?: string; fee?: string; duplicate?: boolean };
  }>(
    '/_sim/statement-adjustments',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['orderNo', 'currency'],
          properties: {
            orderNo: { type: 'string', pattern: ORDER_NO_PATTERN.source },
            currency: { type: 'string', pattern: '^[A-Z]{3}$' },
            amount: { type: 'string' },
            fee: { type: 'string' },
            duplicate: { type: 'boolean' },
          },
        },
      },
    },
    async (request) => {
      const { orderNo, currency, amount, fee, duplicate } = request.body;
      // parseWireAmount refuses a malformed amount with an error: the request fails and nothing is
      // set.
      deps.adjustments.set(orderNo, {
        ...(amount === undefined ? {} : { amountMinor: parseWireAmount(amount, currency) }),
        ...(fee === undefined ? {} : { feeMinor: parseWireAmount(fee, currency) }),
        ...(duplicate === undefined ? {} : { duplicate }),
      });
      return request.body;
    },
  );
}

/**
 * Replaces the whole rate table: {"rates": {"timeout-then-execute": 0.1, "notify-duplicate": 0.5}}.
 */
function registerFaultRatesRoute(app: FastifyInstance, deps: ControlDeps): void {
  app.post<{ Body: { rates: Record<string, number> } }>(
    '/_sim/faults',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['rates'],
          properties: { rates: { type: 'object', additionalProperties: { type: 'number' } } },
        },
      },
    },
    async (request, reply) => {
      try {
        const rates = validateRates(
          Object.entries(request.body.rates).map(([spec, rate]) => ({
            spec,
            fault: parseFault(spec),
            rate,
          })),
        );
        deps.setRates(rates);
        return faultState(deps);
      } catch (err) {
        if (err instanceof FaultSpecError)
          return reply.code(400).send({ code: 'INVALID_FAULT', message: err.message });
        throw err;
      }
    },
  );
}

/**
 * {"mode": "refuse" | "503" | "none", "durationMs": 2000}; refuse needs a duration, or nothing
 * could end it.
 */
function registerOutageRoute(app: FastifyInstance, deps: ControlDeps): void {
  app.post<{ Body: { mode: 'refuse' | '503' | 'none'; durationMs?: number } }>(
    '/_sim/outage',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['mode'],
          properties: {
            mode: { enum: ['refuse', '503', 'none'] },
            durationMs: { type: 'integer', minimum: 1, maximum: 3_600_000 },
          },
        },
      },
    },
    async (request, reply) => {
      const { mode, durationMs } = request.body;
      if (mode === 'none') {
        await deps.outage.end();
        return { outage: 'none' };
      }
      if (mode === 'refuse' && durationMs === undefined)
        return reply
          .code(400)
          .send({ code: 'INVALID_REQUEST', message: 'refuse needs durationMs' });
      // Answer first: a refuse outage drops this very connection.
      reply.raw.once('finish', () => {
        deps.outage.start(mode, durationMs).catch((err: unknown) => {
          deps.outage.lastError = String(err);
        });
      });
      return { outage: mode, durationMs };
    },
  );
}
