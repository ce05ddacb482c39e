/**
 * Control endpoints under /_sim/ (unauthenticated: the simulator binds to loopback; never expose
 * it). They stay up during a 503 outage so a test can end it.
 */
import type { FastifyInstance } from 'fastify';
import { formatAmount } from '../money';
import { FaultSpecError, parseFault, validateRates, type FaultRate } from './faults';
import type { Notifier } from './notifier';
import type { Outage } from './outage';
import { recordToJson, type OrderRecord, type TruthStore } from './truth-store';

export interface ControlDeps {
  store: TruthStore;
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
    amount: formatAmount(record.amountMinor, record.currency),
    ...(record.feeMinor === undefined ? {} : { fee: formatAmount(record.feeMinor, record.currency) }),
  };
}

export function registerControlRoutes(app: FastifyInstance, deps: ControlDeps): void {
  app.get('/_sim/health', async () => ({ ok: true, orders: deps.store.all().length, outage: deps.outage.mode }));

  app.get<{ Querystring: { orderNo?: string } }>('/_sim/truth', async (request) => {
    const { orderNo } = request.query;
    const records = orderNo === undefined ? deps.store.all() : [deps.store.get(orderNo)].filter((r): r is OrderRecord => r !== undefined);
    return { orders: records.map(truthJson) };
  });

  app.get<{ Querystring: { orderNo?: string } }>('/_sim/notifications', async (request) => {
    const { orderNo } = request.query;
    return { attempts: deps.notifier.attempts().filter((a) => orderNo === undefined || a.orderNo === orderNo) };
  });

  const faultState = (): Record<string, unknown> => ({
    seed: deps.seed,
    rates: Object.fromEntries(deps.getRates().map((r) => [r.spec, r.rate])),
    outage: deps.outage.mode,
    ...(deps.outage.lastError === undefined ? {} : { outageError: deps.outage.lastError }),
  });

  app.get('/_sim/faults', async () => faultState());

  // Replaces the whole rate table: {"rates": {"timeout-then-execute": 0.1, "notify-duplicate": 0.5}}.
  app.post<{ Body: { rates: Record<string, number> } }>('/_sim/faults', {
    schema: { body: { type: 'object', additionalProperties: false, required: ['rates'], properties: { rates: { type: 'object', additionalProperties: { type: 'number' } } } } },
  }, async (request, reply) => {
    try {
      const rates = validateRates(Object.entries(request.body.rates).map(([spec, rate]) => ({ spec, fault: parseFault(spec), rate })));
      deps.setRates(rates);
      return faultState();
    } catch (err) {
      if (err instanceof FaultSpecError) return reply.code(400).send({ code: 'INVALID_FAULT', message: err.message });
      throw err;
    }
  });

  // {"mode": "refuse" | "503" | "none", "durationMs": 2000}; refuse needs a duration, or nothing could end it.
  app.post<{ Body: { mode: 'refuse' | '503' | 'none'; durationMs?: number } }>('/_sim/outage', {
    schema: {
      body: {
        type: 'object', additionalProperties: false, required: ['mode'],
        properties: { mode: { enum: ['refuse', '503', 'none'] }, durationMs: { type: 'integer', minimum: 1, maximum: 3_600_000 } },
      },
    },
  }, async (request, reply) => {
    const { mode, durationMs } = request.body;
    if (mode === 'none') {
      await deps.outage.end();
      return { outage: 'none' };
    }
    if (mode === 'refuse' && durationMs === undefined) return reply.code(400).send({ code: 'INVALID_REQUEST', message: 'refuse needs durationMs' });
    // Answer first: a refuse outage drops this very connection.
    reply.raw.once('finish', () => {
      deps.outage.start(mode, durationMs).catch((err: unknown) => { deps.outage.lastError = String(err); });
    });
    return { outage: mode, durationMs };
  });
}
