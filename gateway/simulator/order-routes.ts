/**
 * Merchant routes: POST /v1/payouts (代付), POST /v1/collections (代扣), GET /v1/orders/:orderNo.
 * Per-call faults (X-Sim-Fault) or drawn ones (rates) act here: before anything is recorded
 * (5xx, reset, timeout without execution) or after (lie, 5xx, reset, held answer).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MoneyError, parseWireAmount } from '../../ledger/money';
import {
  BANK_ACCOUNT_SCHEMA,
  MEMO_MAX_LENGTH,
  ORDER_NO_PATTERN,
  SIM_FAULT_HEADER,
  type OrderKind,
  type OrderReply,
  type SubmitOrderBody,
} from '../protocol';
import {
  drawFaultPlan,
  FaultSpecError,
  parseFaultHeader,
  type FaultPlan,
  type FaultRate,
} from './faults';
import type { AccountHolders } from './account-holders';
import type { NewOrder, OrderBook } from './order-book';
import type { OrderRecord } from './truth-store';
import type { Timers } from './timers';

export interface OrderRouteDeps {
  book: OrderBook;
  /** The real-name check of payouts (account-holders.ts). */
  holders: AccountHolders;
  timers: Timers;
  seed: string;
  timeoutHoldMs: number;
  /** Read per call: the control endpoint may change them. */
  faultRates: () => readonly FaultRate[];
  /** Told of every fault a submit meets (drawn or by header), for the chaos suite's counts. */
  onFaults?: (plan: FaultPlan) => void;
  preValidation: (
    request: FastifyRequest,
    reply: FastifyReply,
  ) => Promise<FastifyReply | undefined>;
}

const accountSchema = BANK_ACCOUNT_SCHEMA;

const submitSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['orderNo', 'amount', 'currency', 'account'],
    properties: {
      orderNo: { type: 'string', pattern: ORDER_NO_PATTERN.source },
      amount: { type: 'string', maxLength: 32 },
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      account: accountSchema,
      memo: { type: 'string', maxLength: MEMO_MAX_LENGTH },
    },
  },
} as const;

function requestHash(order: Omit<NewOrder, 'requestHash'>): string {
  const canonical = [
    order.kind,
    order.orderNo,
    order.amountMinor.toString(),
    order.currency,
    order.account.bankCode,
    order.account.accountNo,
    order.account.accountName,
    order.memo ?? '',
  ];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Drops the connection without an answer, as a crashing load balancer would. */
function resetConnection(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.hijack();
  request.raw.socket.destroy();
  return reply;
}

function headerPlan(request: FastifyRequest): FaultPlan | undefined {
  const header = single(request.headers[SIM_FAULT_HEADER]);
  return header === undefined ? undefined : parseFaultHeader(header);
}

export function registerOrderRoutes(app: FastifyInstance, deps: OrderRouteDeps): void {
  app.post(
    '/v1/payouts',
    { schema: submitSchema, preValidation: deps.preValidation },
    submitOrder(deps, 'PAYOUT'),
  );
  app.post(
    '/v1/collections',
    { schema: submitSchema, preValidation: deps.preValidation },
    submitOrder(deps, 'COLLECTION'),
  );
  registerOrderQueryRoute(app, deps);
}

/** A refusal of a submit before any fault or record: its code and message, answered with 400. */
interface SubmitRefusal {
  code: 'INVALID_AMOUNT' | 'INVALID_FAULT';
  message: string;
}

/**
 * A submit's amount and the faults its call meets (by header, else drawn), or why it is refused.
 * The call is counted only once the amount is valid.
 */
function readSubmission(
  deps: OrderRouteDeps,
  request: FastifyRequest,
  body: SubmitOrderBody,
): { amountMinor: bigint; plan: FaultPlan } | SubmitRefusal {
  let amountMinor: bigint;
  try {
    amountMinor = parseWireAmount(body.amount, body.currency);
  } catch (err) {
    if (err instanceof MoneyError) return { code: 'INVALID_AMOUNT', message: err.message };
    throw err;
  }
  if (amountMinor <= 0n) return { code: 'INVALID_AMOUNT', message: 'amount must be positive' };

  const callIndex = deps.book.nextCallIndex(body.orderNo);
  try {
    const plan =
      headerPlan(request) ?? drawFaultPlan(deps.faultRates(), deps.seed, body.orderNo, callIndex);
    return { amountMinor, plan };
  } catch (err) {
    if (err instanceof FaultSpecError) return { code: 'INVALID_FAULT', message: err.message };
    throw err;
  }
}

/** POST /v1/payouts and /v1/collections: the order recorded once, its faults acted out. */
function submitOrder(deps: OrderRouteDeps, kind: OrderKind) {
  return async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<OrderReply | FastifyReply> => {
    const body = request.body as SubmitOrderBody;
    const submission = readSubmission(deps, request, body);
    if ('code' in submission) return reply.code(400).send(submission);
    const { amountMinor, plan } = submission;
    deps.onFaults?.(plan);
    const call = plan.call?.type;

    // Faults that strike before the gateway records anything.
    if (call === 'error-5xx-before-execute')
      return reply.code(503).send({ code: 'SERVICE_UNAVAILABLE', message: 'try again later' });
    if (call === 'reset-before-execute') return resetConnection(request, reply);
    if (call === 'timeout-no-execute') {
      await deps.timers.sleep(deps.timeoutHoldMs);
      if (deps.timers.isClosed) return resetConnection(request, reply);
      return reply
        .code(504)
        .send({ code: 'GATEWAY_TIMEOUT', message: 'upstream bank did not answer' });
    }

    const order = {
      kind,
      orderNo: body.orderNo,
      amountMinor,
      currency: body.currency,
      account: body.account,
      ...(body.memo === undefined ? {} : { memo: body.memo }),
    };
    const hash = requestHash(order);
    const found = deps.book.find(body.orderNo);
    if (found && found.requestHash !== hash) {
      // The same order number with other content: never executed, never merged.
      return reply.code(409).send({
        code: 'ORDER_CONFLICT',
        message: `order ${body.orderNo} exists with different content`,
      });
    }
    if (found) return answerRecorded(deps, request, reply, plan, found);
    const checked = realNameChecked(deps, order, plan);
    const record = deps.book.create({ ...order, requestHash: hash }, checked);
    return answerRecorded(deps, request, reply, checked, record);
  };
}

/**
 * A payout to a registered account under another name fails as the bank's real-name check does:
 * recorded FAILED with ACCOUNT_NAME_MISMATCH, never executed (and answered so, whatever fault).
 */
function realNameChecked(
  deps: OrderRouteDeps,
  order: { kind: OrderKind; account: SubmitOrderBody['account'] },
  plan: FaultPlan,
): FaultPlan {
  if (order.kind !== 'PAYOUT' || !deps.holders.mismatches(order.account)) return plan;
  return { ...plan, call: { type: 'fail', code: 'ACCOUNT_NAME_MISMATCH' } };
}

/** The answer to a recorded order, after the faults that strike once it is (maybe) executed. */
async function answerRecorded(
  deps: OrderRouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  plan: FaultPlan,
  recorded: OrderRecord,
): Promise<OrderReply | FastifyReply> {
  let record = recorded;
  const call = plan.call?.type;
  if (call === 'timeout-then-execute') {
    await deps.timers.sleep(deps.timeoutHoldMs);
    if (deps.timers.isClosed) return resetConnection(request, reply);
    record = deps.book.settleIfDue(record.orderNo) ?? record;
  }
  if (call === 'error-5xx-after-execute')
    return reply.code(500).send({ code: 'SYSTEM_ERROR', message: 'internal error' });
  if (call === 'reset-after-execute') return resetConnection(request, reply);
  const answer = deps.book.reply(record);
  if (plan.call?.type === 'lie-failed' && record.status === 'SUCCESS') {
    // The double-payout incident: "failed" for money that moved.
    return {
      orderNo: answer.orderNo,
      kind: answer.kind,
      status: 'FAILED',
      code: plan.call.code,
      amount: answer.amount,
      currency: answer.currency,
      gatewayTradeNo: answer.gatewayTradeNo,
    };
  }
  return answer;
}

/** GET /v1/orders/{orderNo}: the order's state, or a query-time fault. */
function registerOrderQueryRoute(app: FastifyInstance, deps: OrderRouteDeps): void {
  app.get<{ Params: { orderNo: string } }>(
    '/v1/orders/:orderNo',
    {
      preValidation: deps.preValidation,
      schema: {
        params: {
          type: 'object',
          properties: { orderNo: { type: 'string', pattern: ORDER_NO_PATTERN.source } },
        },
      },
    },
    async (request, reply): Promise<OrderReply | FastifyReply> => {
      let plan: FaultPlan | undefined;
      try {
        plan = headerPlan(request);
      } catch (err) {
        if (err instanceof FaultSpecError)
          return reply.code(400).send({ code: 'INVALID_FAULT', message: err.message });
        throw err;
      }
      const call = plan?.call?.type;
      if (call === 'error-5xx-before-execute' || call === 'error-5xx-after-execute')
        return reply.code(503).send({ code: 'SERVICE_UNAVAILABLE', message: 'try again later' });
      if (call === 'reset-before-execute' || call === 'reset-after-execute')
        return resetConnection(request, reply);
      if (call === 'timeout-no-execute' || call === 'timeout-then-execute') {
        await deps.timers.sleep(deps.timeoutHoldMs);
        if (deps.timers.isClosed) return resetConnection(request, reply);
        return reply.code(504).send({ code: 'GATEWAY_TIMEOUT', message: 'query timed out' });
      }
      const record = deps.book.settleIfDue(request.params.orderNo);
      // NOT_FOUND is a 200 answer on purpose: a 404 from a misrouted proxy must never read as
      // "the gateway confirms it never received this order".
      return record
        ? deps.book.reply(record)
        : ({ orderNo: request.params.orderNo, status: 'NOT_FOUND' } as OrderReply);
    },
  );
}
