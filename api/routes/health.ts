import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import type { AppContext } from '../app';
import { errorBody } from '../errors';
import { ERROR_RESPONSE } from '../schemas';

export function registerHealthRoutes(app: FastifyInstance, context: AppContext): void {
  registerWorkGauges(context);
  registerHealthzRoute(app, context);
  registerMetricsRoute(app, context);
}

/** The gauges an operator is alerted on, counted from the database at each scrape. */
function registerWorkGauges({ pool, metrics }: AppContext): void {
  // Read at scrape time: the dispatcher that dead-letters a row is another process.
  new Gauge({
    name: 'outbox_dead_letters',
    help: 'outbox rows that could never be delivered (a signal to a finished workflow): each needs an operator',
    registers: [metrics.registry],
    async collect() {
      const {
        rows: [r],
      } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox_dead_letters');
      this.set(r.n);
    },
  });
  // Both the API (a notice against a finished order) and the worker (a decision written as a notice
  // arrived) open these: the gauge is what is open now, whoever raised it.
  new Gauge({
    name: 'gateway_notice_exceptions_open',
    help: 'open reconciliation exceptions raised by a verified gateway notice contradicting our record: each is money to check now',
    registers: [metrics.registry],
    async collect() {
      const {
        rows: [r],
      } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM recon_exceptions WHERE status = 'OPEN' AND detail->>'source' = 'notice'`,
      );
      this.set(r.n);
    },
  });
  // The worker's activities record these (activities/decisions.ts): an Update or Signal that named
  // no recorded decision, another workflow's, or one used already (e.g. sent from the Web UI).
  new Gauge({
    name: 'operator_decisions_refused',
    help: 'money decisions and gateway notices a workflow refused, by kind, since the start: each is someone acting outside the API',
    labelNames: ['kind'],
    registers: [metrics.registry],
    async collect() {
      const { rows } = await pool.query<{ kind: string; n: number }>(
        'SELECT kind, count(*)::int AS n FROM operator_decision_refusals GROUP BY kind',
      );
      this.reset();
      for (const r of rows) this.set({ kind: r.kind }, r.n);
    },
  });
}

function registerHealthzRoute(app: FastifyInstance, { pool }: AppContext): void {
  app.get(
    '/healthz',
    {
      schema: {
        security: [],
        response: {
          200: { type: 'object', properties: { ok: { type: 'boolean' } } },
          503: ERROR_RESPONSE,
        },
      },
    },
    async (_request, reply) => {
      try {
        await pool.query('SELECT 1');
        return { ok: true };
      } catch {
        return reply
          .status(503)
          .send(errorBody('DATABASE_UNAVAILABLE', 'the database does not answer'));
      }
    },
  );
}

function registerMetricsRoute(app: FastifyInstance, { metrics }: AppContext): void {
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        security: [],
        response: {
          200: {
            description: 'the metrics',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
}
