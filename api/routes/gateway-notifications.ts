// POST /v1/gateway/notifications: the gateway's async notices. Authenticated by the gateway's
// HMAC signature, not an API key. Only a notice whose signature, order, status, amount and
// currency all match (gateway/verify-notification.ts) reaches a workflow; everything else is
// refused, counted and logged as an alert, and moves no money. A verified notice is evidence:
// - for an order still running, it is signalled to its workflow (SUCCESS, FAILED_*);
// - for an order already finished the same way, it is LATE; seen before, it is a DUPLICATE;
// - for an order finished the other way (SUCCESS for one we voided or recorded FAILED, a
//   definitive failure for one we posted), it is an alert and a reconciliation exception at once.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import {
  verifyNotification,
  type NotificationRejection,
  type VerifiedNotification,
} from '../../gateway/verify-notification';
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

/** A verified notice and what it says of its order. */
interface Notice {
  n: VerifiedNotification;
  says: 'SUCCESS' | 'FAILED';
  definitive: boolean;
  /** The gateway's failure code (a FAILED notice's). */
  code: string | undefined;
}

interface GatewaySecrets {
  current: string | undefined;
  /** The one being retired during a rotation. */
  previous: string | undefined;
}

export function registerGatewayNotificationRoutes(
  app: FastifyInstance,
  context: AppContext,
  gatewaySecret: string | undefined,
  previousGatewaySecret?: string,
): void {
  const secrets: GatewaySecrets = { current: gatewaySecret, previous: previousGatewaySecret };
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
      async (request, reply) => receiveNotification(context, secrets, request, reply),
    );
  });
}

/** Verifies a notice against its signature and its order, then acts on it at most once. */
async function receiveNotification(
  context: AppContext,
  secrets: GatewaySecrets,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (!secrets.current)
    throw new ApiError(503, 'GATEWAY_NOT_CONFIGURED', 'no gateway secret is configured');
  const orders = new Map<string, KnownOrder>();
  const result = await verifyNotification({
    rawBody: request.body as Buffer,
    headers: request.headers,
    secret: secrets.current,
    previousSecret: secrets.previous,
    nowMs: Date.now(),
    lookupOrder: async (orderNo) => {
      const order = await findOrder(context.pool, orderNo);
      if (order) orders.set(orderNo, order);
      return order;
    },
  });
  if (!result.ok && result.reason !== 'REPORTED_FAILED')
    return refuseNotification(context, request, reply, result);
  const notice: Notice = {
    n: result.notification,
    says: result.ok ? 'SUCCESS' : 'FAILED',
    definitive: result.ok || result.definitive,
    code: result.ok ? undefined : result.code,
  };
  const order = orders.get(notice.n.orderNo) as KnownOrder;
  const outcome = await actOnNoticeOnce(context, request.log, notice, order);
  context.metrics.gatewayNotifications.inc({ result: outcome });
  return { received: true, orderNo: notice.n.orderNo };
}

/** A notice that failed verification moves nothing: counted, logged as an alert, refused. */
function refuseNotification(
  { metrics }: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  refused: { reason: NotificationRejection; detail: string },
): FastifyReply {
  metrics.gatewayNotifications.inc({ result: refused.reason });
  request.log.warn(
    { reason: refused.reason, detail: refused.detail },
    'ALERT: gateway notification refused',
  );
  const status =
    refused.reason === 'BAD_SIGNATURE' || refused.reason === 'STALE_TIMESTAMP'
      ? 401
      : refused.reason === 'MALFORMED'
        ? 400
        : 422;
  return reply.status(status).send(errorBody(`NOTIFICATION_${refused.reason}`, refused.detail));
}

/** A notice is acted on once: stored first (remember), acted on, then its result recorded. */
async function actOnNoticeOnce(
  context: AppContext,
  log: FastifyBaseLogger,
  notice: Notice,
  order: KnownOrder,
): Promise<NoticeResult> {
  const { pool } = context;
  if ((await seenBefore(pool, notice.n)) || !(await remember(pool, notice))) return 'DUPLICATE';
  let outcome: NoticeResult;
  try {
    outcome = await actOnNotice(context, log, notice, order);
  } catch (err) {
    // Not acted on: forgotten, so the gateway's resend is handled, not taken for a duplicate.
    await pool.query('DELETE FROM gateway_notices WHERE notify_id = $1', [notice.n.notifyId]);
    throw err;
  }
  await pool.query('UPDATE gateway_notices SET result = $2 WHERE notify_id = $1', [
    notice.n.notifyId,
    outcome,
  ]);
  return outcome;
}

/**
 * The same notice (its id) handled before. A new notice about the same order is judged again: had
 * its order finished the other way since the first one (a workflow settling as it arrived), the
 * contradiction is still raised.
 */
async function seenBefore(pool: Pool, n: VerifiedNotification): Promise<boolean> {
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
async function remember(pool: Pool, { n, says, definitive, code }: Notice): Promise<boolean> {
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
async function contradiction(
  context: AppContext,
  log: FastifyBaseLogger,
  notice: ContradictingNotice,
): Promise<void> {
  const opened = await openNoticeException(context.pool, notice, Date.now());
  context.metrics.gatewayNoticeContradictions.inc({ kind: notice.kind, recorded: notice.recorded });
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

/**
 * What a new notice does: against a finished order it is judged by the record (LATE or a
 * contradiction); a running order's workflow is signalled it.
 */
async function actOnNotice(
  context: AppContext,
  log: FastifyBaseLogger,
  { n, says, definitive, code }: Notice,
  order: KnownOrder,
): Promise<NoticeResult> {
  const contradicts = (o: KnownOrder) =>
    (says === 'SUCCESS' && o.status === 'FAILED') ||
    (says === 'FAILED' && definitive && o.status === 'SUCCEEDED');
  if (FINAL.has(order.status)) {
    if (!contradicts(order)) return 'LATE';
    await contradiction(context, log, asContradiction(n, order, says));
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
      const now = await findOrder(context.pool, n.orderNo);
      if (now && contradicts(now)) {
        await contradiction(context, log, asContradiction(n, now, says));
        return 'CONTRADICTS_RECORD';
      }
      return 'LATE';
    }
    // Stored before the signal: had the order become final the other way meanwhile (a decision
    // written as the notice arrived), the workflow may not have acted on it. Judge it again.
    const crossed = (await findContradictingNotices(context.pool, n.orderNo)).filter(
      (c) => c.notifyId === n.notifyId,
    );
    for (const c of crossed) await contradiction(context, log, c);
    if (crossed.length > 0) return 'CONTRADICTS_RECORD';
  }
  return says === 'SUCCESS'
    ? 'SUCCESS'
    : definitive
      ? 'FAILED_DEFINITIVE'
      : 'FAILED_NOT_DEFINITIVE';
}
