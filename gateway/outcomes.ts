/**
 * Typed results of gateway calls, and the pure functions that classify an HTTP exchange into
 * one of them (DESIGN.md, "Gateway outcomes"). Anything not provably success, a listed
 * definitive failure, or never-sent is `unknown`: the caller queries, never retries blindly.
 */
import { isDefinitiveFailureCode, type DefinitiveFailureCode } from './definitive-codes';
import type { ExchangeResult } from './http-exchange';
import { MoneyError, parseWireAmount } from '../ledger/money';
import type { OrderKind, OrderReply } from './protocol';

export interface ExecutedOrder {
  orderNo: string;
  kind: OrderKind;
  amountMinor: bigint;
  currency: string;
  feeMinor?: bigint;
  gatewayTradeNo?: string;
}

export type Succeeded = { kind: 'succeeded'; order: ExecutedOrder };
/** Not executed, and never will be under this order number. */
export type Failed = { kind: 'failed'; code: DefinitiveFailureCode; message?: string };
/** Provably never reached the gateway: safe to send again with the same order number. */
export type NotSent = { kind: 'not_sent'; reason: string };
/**
 * May or may not have executed: query by order number; never resend blindly. `failedCode` is set
 * when the gateway did answer FAILED, with a code not on the definitive list: not final for the
 * order's own workflow (it may be transient, or a lie), but a claim that nothing moved, which
 * reconciliation can weigh against the statement.
 */
export type Unknown = { kind: 'unknown'; reason: string; httpStatus?: number; failedCode?: string };

export type SubmitOutcome = Succeeded | Failed | NotSent | Unknown;
export type QueryOutcome =
  | Succeeded
  | Failed
  /** The gateway confirms it never received this order number. */
  | { kind: 'not_found' }
  /** Received, not finished: ask again later. */
  | { kind: 'processing' }
  | NotSent
  | Unknown;

/** What we asked for; an answer about anything else is not an answer to us. */
export interface ExpectedOrder {
  orderNo: string;
  kind: OrderKind;
  amountMinor: bigint;
  currency: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readReply(body: string): OrderReply | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isRecord(json) || typeof json.orderNo !== 'string' || typeof json.status !== 'string')
    return undefined;
  for (const key of ['code', 'message', 'amount', 'currency', 'fee', 'gatewayTradeNo', 'kind']) {
    if (json[key] !== undefined && typeof json[key] !== 'string') return undefined;
  }
  return json as unknown as OrderReply;
}

function errorCode(body: string): string {
  try {
    const json: unknown = JSON.parse(body);
    if (isRecord(json) && typeof json.code === 'string') return json.code;
  } catch {
    // not JSON: the status alone says it
  }
  return 'no code';
}

/** SUCCESS is believed only for exactly the order, kind, amount and currency we asked about. */
function succeededIfMatching(reply: OrderReply, expected: ExpectedOrder): Succeeded | Unknown {
  if (reply.kind !== expected.kind)
    return {
      kind: 'unknown',
      reason: `answer is for a ${reply.kind ?? 'missing'} kind`,
      httpStatus: 200,
    };
  if (reply.currency !== expected.currency || reply.amount === undefined) {
    return {
      kind: 'unknown',
      reason: `answer is in ${reply.currency ?? 'no currency'}, expected ${expected.currency}`,
      httpStatus: 200,
    };
  }
  try {
    const amountMinor = parseWireAmount(reply.amount, reply.currency);
    if (amountMinor !== expected.amountMinor)
      return {
        kind: 'unknown',
        reason: `answer is for ${reply.amount}, not our amount`,
        httpStatus: 200,
      };
    const feeMinor =
      reply.fee === undefined ? undefined : parseWireAmount(reply.fee, reply.currency);
    return {
      kind: 'succeeded',
      order: {
        orderNo: reply.orderNo,
        kind: expected.kind,
        amountMinor,
        currency: reply.currency,
        feeMinor,
        gatewayTradeNo: reply.gatewayTradeNo,
      },
    };
  } catch (err) {
    if (err instanceof MoneyError)
      return { kind: 'unknown', reason: `unreadable amount: ${err.message}`, httpStatus: 200 };
    throw err;
  }
}

function failedIfDefinitive(reply: OrderReply): Failed | Unknown {
  const code = reply.code ?? '';
  if (isDefinitiveFailureCode(code))
    return {
      kind: 'failed',
      code,
      ...(reply.message === undefined ? {} : { message: reply.message }),
    };
  return {
    kind: 'unknown',
    reason: `failure code '${code}' is not definitive`,
    httpStatus: 200,
    failedCode: code,
  };
}

/** A 200 answer we can read and that is about our order number, or why not. */
function replyFor(
  result: ExchangeResult,
  expected: ExpectedOrder,
): { reply: OrderReply } | NotSent | Unknown {
  if (result.kind !== 'response') return result;
  if (result.httpStatus !== 200)
    return {
      kind: 'unknown',
      reason: `HTTP ${result.httpStatus} (${errorCode(result.body)})`,
      httpStatus: result.httpStatus,
    };
  const reply = readReply(result.body);
  if (!reply) return { kind: 'unknown', reason: 'unreadable answer', httpStatus: 200 };
  if (reply.orderNo !== expected.orderNo)
    return { kind: 'unknown', reason: `answer is for order ${reply.orderNo}`, httpStatus: 200 };
  return { reply };
}

/**
 * The outcome table for a reply to a submit or a query: SUCCESS and FAILED read the same for
 * both; `waiting` holds the statuses whose meaning depends on which was asked; any other status is
 * unknown.
 */
function classifyReply<T>(
  result: ExchangeResult,
  expected: ExpectedOrder,
  waiting: Readonly<Record<string, T>>,
): T | Succeeded | Failed | NotSent | Unknown {
  const read = replyFor(result, expected);
  if (!('reply' in read)) return read;
  const order = read.reply;
  if (order.status === 'SUCCESS') return succeededIfMatching(order, expected);
  if (order.status === 'FAILED') return failedIfDefinitive(order);
  if (Object.hasOwn(waiting, order.status)) return waiting[order.status];
  return { kind: 'unknown', reason: `unrecognised status '${order.status}'`, httpStatus: 200 };
}

export function classifySubmit(result: ExchangeResult, expected: ExpectedOrder): SubmitOutcome {
  return classifyReply<Unknown>(result, expected, {
    PROCESSING: { kind: 'unknown', reason: 'gateway says PROCESSING', httpStatus: 200 },
  });
}

export function classifyQuery(result: ExchangeResult, expected: ExpectedOrder): QueryOutcome {
  return classifyReply<QueryOutcome>(result, expected, {
    PROCESSING: { kind: 'processing' },
    NOT_FOUND: { kind: 'not_found' },
  });
}
