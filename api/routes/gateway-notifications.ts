// POST /v1/gateway/notifications: the gateway's async notices. Authenticated by the gateway's
// HMAC signature, not an API key. Only a notice whose signature, order, status, amount and
// currency all match (gateway/verify-notification.ts) reaches a workflow; everything else is
// refused, counted and logged as an alert, and moves no money. A verified notice is evidence:
// - for an order still running, it is signalled to its workflow (SUCCESS, FAILED_*);
// - for an order already finished the same way, it is LATE; seen before, it is a DUPLICATE;
// - for an order finished the other way (SUCCESS for one we voided or recorded FAILED, a
//   definitive failure for one we posted), it is an alert and a reconciliation exception at once.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { verifyNotification, type VerifiedNotification } from '../../gateway/verify-notification';
import {
  findContradictingNotices,
  openNoticeException,
  type ContradictingNotice,
} from '../../reconciliation/notice-exception';
import {
  gatewayNoticeSignal,
  type VerifiedGatewayNotice,
} from '../../workflows/contracts/gateway-order';
import { rematchSignal } from '../../workflows/contracts/reconciliation';
import type { AppContext } from '../app';
import { documentedObject } from '../contract';
import { ApiError, errorBody } from '../errors';
import { ERROR_RESPONSE } from '../schemas';
import { workflowIds } from '../../ids/workflow-ids';
import { findOrder, type KnownOrder } from '../../payments/orders';

type NoticeResult =
  | 'SUCCESS'
  | 'FAILED_DEFINITIVE'
  | 'FAILED_NOT_DEFINITIVE'
  | 'DUPLICATE'
  | 'LATE'
  | 'CONTRADICTS_RECORD';

const FINAL = new Set(['SUCCEEDED', 'FAILED']);

export function registerGatewayNotificationRoutes(
  app: FastifyInstance,
  context: AppContext,
  gatewaySecret: string | undefined,
  previousGatewaySecret?: string,
): void {
  const { pool, metrics } = context;

  /**
   * The same notice (its id) handled before. A new notice about the same order is judged again:
   * had its order finished the other way since the first one (a workflow settling as it
   * arrived), the contradiction is still raised.
   */
  async function seenBefore(n: VerifiedNotification): Promise<boolean> {
    // A row still RECEIVED was stored by a delivery that died before acting on it: not handled yet.
    const { rowCount } = await pool.query(
      `SELECT 1 FROM gateway_notices WHERE notify_id = $1 AND result <> 'RECEIVED'`,
      [n.notifyId],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Stored before it is acted on, so an order that becomes final the other way while the notice is
   * signalled finds it (raiseContradictingNotices). False: the same notice, handled already. A row
   * left RECEIVED by a delivery that died half-way is taken over, so the resend is acted on.
   */
  async function remember(
    n: VerifiedNotification,
    says: 'SUCCESS' | 'FAILED',
    definitive: boolean,
    code: string | undefined,
  ): Promise<boolean> {
    // The workflow signalled reads the notice from this row (activities/decisions.ts), never from
    // the signal.
    const { rowCount } = await pool.query(
      `INSERT INTO gateway_notices (notify_id, order_no, status, definitive, code, result) VALUES ($1, $2, $3, $4, $5, 'RECEIVED')
       ON CONFLICT (notify_id) DO UPDATE SET received_at = gateway_notices.received_at WHERE gateway_notices.result = 'RECEIVED'`,
      [n.notifyId, n.orderNo, says, definitive, code ?? null],
    );
    return (rowCount ?? 0) > 0;
  }

  /** A notice against a finished order's record: alert (metric, log) and exception, at once. */
  async function contradiction(log: FastifyBaseLogger, notice: ContradictingNotice): Promise<void> {
    const opened = await openNoticeException(pool, notice, Date.now());
    metrics.gatewayNoticeContradictions.inc({ kind: notice.kind, recorded: notice.recorded });
    log.error(
      {
        orderNo: notice.orderNo,
        kind: notice.kind,
        recorded: notice.recorded,
        gatewaySays: notice.says,
        runId: opened.runId,
        exceptionId: opened.exceptionId ?? null,
      },
      'ALERT: gateway notice contradicts a finished order; reconciliation exception opened',
    );
    // A day whose run is waiting (e.g. on pending lines) takes the new exception in at once.
    if (context.temporal) {
      await context.temporal.workflow
        .getHandle(workflowIds.reconciliation(notice.channel, opened.day))
        .signal(rematchSignal)
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        });
    }
  }

  const asContradiction = (
    n: VerifiedNotification,
    order: KnownOrder,
    says: 'SUCCESS' | 'FAILED',
  ): ContradictingNotice => ({
    notifyId: n.notifyId,
    orderNo: n.orderNo,
    channel: order.channel,
    kind: order.kind,
    amountMinor: order.amountMinor,
    currency: order.currency,
    says,
    recorded: order.status,
    eventTime: n.eventTime,
  });

  // The signature covers the raw bytes: keep them, parse nothing before it is checked.
  void app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: 16 * 1024 },
      (_request, body, done) => done(null, body),
    );
    scope.post(
      '/v1/gateway/notifications',
      {
        schema: {
          summary: "the payment gateway's signed async notice",
          security: [],
          response: {
            200: documentedObject('taken, or a duplicate taken before: no effect twice', {
              received: 'true',
              orderNo: 'the order it is about',
            }),
            400: ERROR_RESPONSE,
            401: ERROR_RESPONSE,
            422: ERROR_RESPONSE,
          },
        },
      },
      async (request, reply) => {
        if (!gatewaySecret)
          throw new ApiError(503, 'GATEWAY_NOT_CONFIGURED', 'no gateway secret is configured');
        const orders = new Map<string, KnownOrder>();
        const result = await verifyNotification({
          rawBody: request.body as Buffer,
          headers: request.headers,
          secret: gatewaySecret,
          previousSecret: previousGatewaySecret,
          nowMs: Date.now(),
          lookupOrder: async (orderNo) => {
            const order = await findOrder(pool, orderNo);
            if (order) orders.set(orderNo, order);
            return order;
          },
        });
        if (!result.ok && result.reason !== 'REPORTED_FAILED') {
          metrics.gatewayNotifications.inc({ result: result.reason });
          request.log.warn(
            { reason: result.reason, detail: result.detail },
            'ALERT: gateway notification refused',
          );
          const status =
            result.reason === 'BAD_SIGNATURE' || result.reason === 'STALE_TIMESTAMP'
              ? 401
              : result.reason === 'MALFORMED'
                ? 400
                : 422;
          return reply
            .status(status)
            .send(errorBody(`NOTIFICATION_${result.reason}`, result.detail));
        }
        const n = result.notification;
        const says = result.ok ? 'SUCCESS' : 'FAILED';
        const definitive = result.ok || result.definitive;
        let outcome: NoticeResult;
        if (
          (await seenBefore(n)) ||
          !(await remember(n, says, definitive, result.ok ? undefined : result.code))
        ) {
          outcome = 'DUPLICATE';
        } else {
          try {
            outcome = await handle(
              request.log,
              n,
              orders.get(n.orderNo) as KnownOrder,
              says,
              result.ok ? undefined : result.code,
              definitive,
            );
          } catch (err) {
            // Not acted on: forgotten, so the gateway's resend is handled, not taken for a
            // duplicate.
            await pool.query('DELETE FROM gateway_notices WHERE notify_id = $1', [n.notifyId]);
            throw err;
          }
          await pool.query('UPDATE gateway_notices SET result = $2 WHERE notify_id = $1', [
            n.notifyId,
            outcome,
          ]);
        }
        metrics.gatewayNotifications.inc({ result: outcome });
        return { received: true, orderNo: n.orderNo };
      },
    );
  });

  async function handle(
    log: FastifyBaseLogger,
    n: VerifiedNotification,
    order: KnownOrder,
    says: 'SUCCESS' | 'FAILED',
    code: string | undefined,
    definitive: boolean,
  ): Promise<NoticeResult> {
    const contradicts = (o: KnownOrder) =>
      (says === 'SUCCESS' && o.status === 'FAILED') ||
      (says === 'FAILED' && definitive && o.status === 'SUCCEEDED');
    if (FINAL.has(order.status)) {
      if (!contradicts(order)) return 'LATE';
      await contradiction(log, asContradiction(n, order, says));
      return 'CONTRADICTS_RECORD';
    }
    const notice: VerifiedGatewayNotice | undefined =
      says === 'SUCCESS'
        ? { notifyId: n.notifyId, orderNo: n.orderNo, outcome: 'succeeded' }
        : definitive
          ? { notifyId: n.notifyId, orderNo: n.orderNo, outcome: 'failed', code }
          : undefined;
    if (notice && context.temporal) {
      try {
        await context.temporal.workflow
          .getHandle(order.workflowId)
          .signal(gatewayNoticeSignal, notice);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        // It finished meanwhile: judge the notice against what it recorded.
        const now = await findOrder(pool, n.orderNo);
        if (now && contradicts(now)) {
          await contradiction(log, asContradiction(n, now, says));
          return 'CONTRADICTS_RECORD';
        }
        return 'LATE';
      }
      // Stored before the signal: had the order become final the other way meanwhile (a decision
      // written as the notice arrived), the workflow may not have acted on it. Judge it again.
      const crossed = (await findContradictingNotices(pool, n.orderNo)).filter(
        (c) => c.notifyId === n.notifyId,
      );
      for (const c of crossed) await contradiction(log, c);
      if (crossed.length > 0) return 'CONTRADICTS_RECORD';
    }
    return says === 'SUCCESS'
      ? 'SUCCESS'
      : definitive
        ? 'FAILED_DEFINITIVE'
        : 'FAILED_NOT_DEFINITIVE';
  }
}
