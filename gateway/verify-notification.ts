/**
 * The one check an async gateway notification must pass before it may advance any state
 * (DESIGN.md rule 3; incidents/notification-check-and-reconciliation.txt, where `&&` instead of
 * `||` let unpaid orders complete). Every miss has its own reason code, and only a notification
 * that is authentic, fresh, for our order, for the exact amount and currency, AND says SUCCESS
 * comes back `ok: true`.
 */
import { isDefinitiveFailureCode } from './definitive-codes';
import { MoneyError, parseWireAmount } from '../ledger/money';
import {
  NOTIFY_SIGNATURE_HEADER,
  NOTIFY_TIMESTAMP_HEADER,
  ORDER_NO_PATTERN,
  SIGNATURE_TOLERANCE_MS,
  type NotificationBody,
  type OrderKind,
} from './protocol';
import { signNotification, signaturesEqual } from './signing';

/** What we expect for an order number, from our own records. */
export interface ExpectedOrder {
  amountMinor: bigint;
  currency: string;
  kind: OrderKind;
}

export type ExpectedOrderLookup = (
  orderNo: string,
) => ExpectedOrder | undefined | Promise<ExpectedOrder | undefined>;

export interface VerifyNotificationInput {
  rawBody: Buffer | string;
  /** Request headers as node gives them (names in any case). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  secret: string;
  /**
   * During a rotation, the secret being retired: a notice signed with it is still authentic
   * (GATEWAY_SECRET_PREVIOUS).
   */
  previousSecret?: string;
  nowMs: number;
  lookupOrder: ExpectedOrderLookup;
  /** Allowed clock distance either way; default ±5 min. */
  toleranceMs?: number;
}

export interface VerifiedNotification {
  notifyId: string;
  orderNo: string;
  kind: OrderKind;
  amountMinor: bigint;
  currency: string;
  feeMinor?: bigint;
  gatewayTradeNo: string;
  eventSeq: number;
  eventTime: string;
}

export type NotificationRejection =
  | 'MALFORMED'
  | 'BAD_SIGNATURE'
  | 'STALE_TIMESTAMP'
  | 'UNKNOWN_ORDER'
  | 'KIND_MISMATCH'
  | 'CURRENCY_MISMATCH'
  | 'AMOUNT_MISMATCH'
  | 'STATUS_NOT_SUCCESS';

export type VerifyNotificationResult =
  /** Authentic and matching, status SUCCESS: the only result that may mark an order paid. */
  | { ok: true; status: 'SUCCESS'; notification: VerifiedNotification }
  /**
   * Authentic and matching, status FAILED. Never success. `definitive` says whether the code is
   * on the list (definitive-codes.ts); a non-definitive failure is an unknown outcome to query.
   */
  | {
      ok: false;
      reason: 'REPORTED_FAILED';
      code: string;
      definitive: boolean;
      notification: VerifiedNotification;
    }
  | { ok: false; reason: NotificationRejection; detail: string };

function header(headers: VerifyNotificationInput['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    // A repeated signature header is an attempt to smuggle a second value: treat as absent.
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

function reject(reason: NotificationRejection, detail: string): VerifyNotificationResult {
  return { ok: false, reason, detail };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Shape check only; amounts stay strings until the currency is known. */
function parseBody(raw: string): NotificationBody | undefined {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isRecord(json)) return undefined;
  const str = (k: string): boolean => typeof json[k] === 'string';
  if (
    ![
      'notifyId',
      'orderNo',
      'kind',
      'status',
      'amount',
      'currency',
      'gatewayTradeNo',
      'eventTime',
    ].every(str)
  )
    return undefined;
  if (json.code !== undefined && typeof json.code !== 'string') return undefined;
  if (json.fee !== undefined && typeof json.fee !== 'string') return undefined;
  if (typeof json.eventSeq !== 'number' || !Number.isSafeInteger(json.eventSeq)) return undefined;
  if (json.kind !== 'PAYOUT' && json.kind !== 'COLLECTION') return undefined;
  return json as unknown as NotificationBody;
}

export async function verifyNotification(
  input: VerifyNotificationInput,
): Promise<VerifyNotificationResult> {
  const timestamp = header(input.headers, NOTIFY_TIMESTAMP_HEADER);
  const signature = header(input.headers, NOTIFY_SIGNATURE_HEADER);
  if (timestamp === undefined || signature === undefined)
    return reject('MALFORMED', 'signature or timestamp header missing');

  // Authenticity first: nothing in an unsigned body is read, not even its JSON.
  const signedBy = [input.secret, ...(input.previousSecret ? [input.previousSecret] : [])].some(
    (secret) => signaturesEqual(signNotification(secret, timestamp, input.rawBody), signature),
  );
  if (!signedBy) return reject('BAD_SIGNATURE', 'signature does not match the body and timestamp');

  if (!/^[0-9]{1,12}$/.test(timestamp))
    return reject('MALFORMED', `timestamp '${timestamp}' is not unix seconds`);
  const skewMs = Math.abs(input.nowMs - Number(timestamp) * 1000);
  if (skewMs > (input.toleranceMs ?? SIGNATURE_TOLERANCE_MS))
    return reject('STALE_TIMESTAMP', `timestamp is ${Math.round(skewMs / 1000)} s from now`);

  const body = parseBody(
    typeof input.rawBody === 'string' ? input.rawBody : input.rawBody.toString('utf8'),
  );
  if (!body || !ORDER_NO_PATTERN.test(body.orderNo))
    return reject('MALFORMED', 'body is not a notification');

  const expected = await input.lookupOrder(body.orderNo);
  if (!expected) return reject('UNKNOWN_ORDER', `no order ${body.orderNo}`);
  if (body.kind !== expected.kind)
    return reject(
      'KIND_MISMATCH',
      `order ${body.orderNo} is a ${expected.kind}, notification says ${body.kind}`,
    );
  if (body.currency !== expected.currency)
    return reject('CURRENCY_MISMATCH', `expected ${expected.currency}, got ${body.currency}`);

  let amountMinor: bigint;
  let feeMinor: bigint | undefined;
  try {
    amountMinor = parseWireAmount(body.amount, body.currency);
    feeMinor = body.fee === undefined ? undefined : parseWireAmount(body.fee, body.currency);
  } catch (err) {
    if (err instanceof MoneyError) return reject('MALFORMED', err.message);
    throw err;
  }
  if (amountMinor !== expected.amountMinor)
    return reject(
      'AMOUNT_MISMATCH',
      `expected ${expected.amountMinor} minor units, got ${amountMinor}`,
    );

  const notification: VerifiedNotification = {
    notifyId: body.notifyId,
    orderNo: body.orderNo,
    kind: body.kind,
    amountMinor,
    currency: body.currency,
    gatewayTradeNo: body.gatewayTradeNo,
    eventSeq: body.eventSeq,
    eventTime: body.eventTime,
    ...(feeMinor === undefined ? {} : { feeMinor }),
  };
  // Each condition above returned on its own; success is reached only when all of them held.
  if (body.status === 'SUCCESS') return { ok: true, status: 'SUCCESS', notification };
  if (body.status === 'FAILED') {
    const code = body.code ?? '';
    return {
      ok: false,
      reason: 'REPORTED_FAILED',
      code,
      definitive: isDefinitiveFailureCode(code),
      notification,
    };
  }
  return reject('STATUS_NOT_SUCCESS', `status is '${body.status}'`);
}
