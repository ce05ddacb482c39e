// Prometheus metrics for the API process: one registry, exposed at GET /metrics.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['route', 'method'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    gatewayNotifications: new Counter({
      name: 'gateway_notifications_total',
      help: 'gateway notifications by result: SUCCESS/FAILED_* reached a running order; DUPLICATE, LATE (the order had finished, in agreement) and CONTRADICTS_RECORD (an alert) moved no money; the rest were refused',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    gatewayNoticeContradictions: new Counter({
      name: 'gateway_notice_contradictions_total',
      help: 'ALERT: verified gateway notices contradicting what we recorded for a finished order (each opened a reconciliation exception)',
      labelNames: ['kind', 'recorded'] as const,
      registers: [registry],
    }),
    failedAuthRefused: new Counter({
      name: 'api_failed_auth_refused_total',
      help: 'requests refused (429) before any key lookup: their address failed authentication too often',
      registers: [registry],
    }),
    idempotentReplays: new Counter({
      name: 'api_idempotent_replays_total',
      help: 'responses replayed for a repeated Idempotency-Key',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
