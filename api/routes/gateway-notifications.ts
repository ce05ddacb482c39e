// POST /v1/gateway/notifications: the gateway's async notices. Authenticated by the gateway's
// HMAC signature, not an API key. Only a notice whose signature, order, status, amount and
// currency all match (gateway/verify-notification.ts) reaches a workflow; everything else is
// refused, counted and logged as an alert, and moves no money.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { verifyNotification, type ExpectedOrder } from '../../gateway/verify-notification';
import { gatewayNoticeSignal, type VerifiedGatewayNotice } from '../../workflows/shared';
import type { AppContext } from '../app';
import { ApiError, errorBody } from '../errors';

interface KnownOrder extends ExpectedOrder {
  workflowId: string;
}

export function registerGatewayNotificationRoutes(app: FastifyInstance, context: AppContext, gatewaySecret: string | undefined): void {
  const { pool, metrics } = context;

  async function lookup(orderNo: string): Promise<KnownOrder | undefined> {
    const { rows } = await pool.query<{ amount_minor: string; currency: string; kind: 'PAYOUT' | 'COLLECTION'; workflow_id: string }>(
      `SELECT amount_minor, currency, 'PAYOUT' AS kind, 'payout-' || id AS workflow_id FROM payouts WHERE order_no = $1
       UNION ALL
       SELECT amount_minor, currency, 'COLLECTION', 'deposit-' || id FROM deposits WHERE order_no = $1
       UNION ALL
       SELECT amount_minor, currency, 'COLLECTION', 'repayment-' || loan_id || '-' || n FROM repayment_collections WHERE order_no = $1
       UNION ALL
       SELECT amount_minor, currency, 'COLLECTION', 'recovery-' || recovery_id FROM recovery_collections WHERE order_no = $1`, [orderNo]);
    const r = rows[0];
    return r ? { amountMinor: BigInt(r.amount_minor), currency: r.currency, kind: r.kind, workflowId: r.workflow_id } : undefined;
  }

  // The signature covers the raw bytes: keep them, parse nothing before it is checked.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 16 * 1024 }, (_request, body, done) => done(null, body));
    scope.post('/v1/gateway/notifications', { schema: { summary: 'the payment gateway\'s signed async notice', security: [] } }, async (request, reply) => {
      if (!gatewaySecret) throw new ApiError(503, 'GATEWAY_NOT_CONFIGURED', 'no gateway secret is configured');
      const orders = new Map<string, KnownOrder>();
      const result = await verifyNotification({
        rawBody: request.body as Buffer,
        headers: request.headers,
        secret: gatewaySecret,
        nowMs: Date.now(),
        lookupOrder: async (orderNo) => {
          const order = await lookup(orderNo);
          if (order) orders.set(orderNo, order);
          return order;
        },
      });
      let notice: VerifiedGatewayNotice | undefined;
      if (result.ok) notice = { notifyId: result.notification.notifyId, orderNo: result.notification.orderNo, outcome: 'succeeded' };
      else if (result.reason === 'REPORTED_FAILED' && result.definitive) {
        notice = { notifyId: result.notification.notifyId, orderNo: result.notification.orderNo, outcome: 'failed', code: result.code };
      }

      if (!result.ok && result.reason !== 'REPORTED_FAILED') {
        metrics.gatewayNotifications.inc({ result: result.reason });
        request.log.warn({ reason: result.reason, detail: result.detail }, 'ALERT: gateway notification refused');
        const status = result.reason === 'BAD_SIGNATURE' || result.reason === 'STALE_TIMESTAMP' ? 401 : result.reason === 'MALFORMED' ? 400 : 422;
        return reply.status(status).send(errorBody(`NOTIFICATION_${result.reason}`, result.detail));
      }
      const orderNo = result.notification.orderNo;
      const order = orders.get(orderNo) as KnownOrder;
      if (notice && context.temporal) {
        try {
          await context.temporal.workflow.getHandle(order.workflowId).signal(gatewayNoticeSignal, notice);
        } catch (err) {
          // Already finished: a late or duplicate notice changes nothing.
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
      }
      metrics.gatewayNotifications.inc({ result: result.ok ? 'SUCCESS' : notice ? 'FAILED_DEFINITIVE' : 'FAILED_NOT_DEFINITIVE' });
      return { received: true, orderNo };
    });
  });
}
