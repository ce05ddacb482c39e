/**
 * The gateway's wire contract, shared by the client, the simulator and notification
 * verification. Amounts are decimal strings; see money.ts.
 */

/** Merchant request authentication (gateway/README.md, "Authentication"). */
export const MERCHANT_ID_HEADER = 'x-merchant-id';
export const REQUEST_TIMESTAMP_HEADER = 'x-request-timestamp';
export const REQUEST_SIGNATURE_HEADER = 'x-request-signature';

/** Async notifications: HMAC-SHA256 over `${timestamp}.${rawBody}`. */
export const NOTIFY_TIMESTAMP_HEADER = 'x-gateway-timestamp';
export const NOTIFY_SIGNATURE_HEADER = 'x-gateway-signature';
export const NOTIFY_ID_HEADER = 'x-gateway-notify-id';
export const NOTIFY_ATTEMPT_HEADER = 'x-gateway-attempt';

/** Simulator only: asks for a fault on this one call (a real PSP ignores it). */
export const SIM_FAULT_HEADER = 'x-sim-fault';

/** How far a signed timestamp may be from our clock, either way. */
export const SIGNATURE_TOLERANCE_MS = 5 * 60_000;

export const ORDER_NO_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/**
 * The longest memo the gateway takes; a longer one is refused (and a refused submit reads as
 * unknown).
 */
export const MEMO_MAX_LENGTH = 128;

/**
 * An order's memo: what it is for and its order number, the number the gateway and its statement
 * show. Built from the order number, never from a business id, so it always fits.
 */
export function orderMemo(
  purpose:
    | 'withdrawal'
    | 'disbursement'
    | 'scheduled'
    | 'verification'
    | 'deposit'
    | 'repayment'
    | 'recovery',
  orderNo: string,
): string {
  if (!ORDER_NO_PATTERN.test(orderNo)) throw new RangeError(`not an order number: ${orderNo}`);
  return `${purpose} ${orderNo}`;
}

export type OrderKind = 'PAYOUT' | 'COLLECTION';
export type OrderStatus = 'SUCCESS' | 'FAILED' | 'PROCESSING';
export type QueryStatus = OrderStatus | 'NOT_FOUND';

export interface BankAccount {
  /** Bank identifier, e.g. "ICBC". */
  bankCode: string;
  accountNo: string;
  accountName: string;
}

/** JSON schema of a BankAccount on the wire; the API accepts exactly what the gateway accepts. */
export const BANK_ACCOUNT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['bankCode', 'accountNo', 'accountName'],
  properties: {
    bankCode: { type: 'string', pattern: '^[A-Z0-9]{2,16}$' },
    accountNo: { type: 'string', pattern: '^[0-9]{6,32}$' },
    accountName: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

/** Body of POST /v1/payouts and POST /v1/collections. */
export interface SubmitOrderBody {
  orderNo: string;
  amount: string;
  currency: string;
  account: BankAccount;
  memo?: string;
}

/** What the gateway says about one order (submit answers and query answers). */
export interface OrderReply {
  orderNo: string;
  /** Absent on NOT_FOUND. */
  kind?: OrderKind;
  status: QueryStatus;
  /** Set when status is FAILED: why. Not every code is definitive (definitive-codes.ts). */
  code?: string;
  message?: string;
  amount?: string;
  currency?: string;
  fee?: string;
  gatewayTradeNo?: string;
}

/** Error body for 4xx/5xx answers. */
export interface ErrorReply {
  code: string;
  message: string;
}

/** Body of an async notification. `status` is free text on purpose: real channels send "0". */
export interface NotificationBody {
  notifyId: string;
  orderNo: string;
  kind: OrderKind;
  status: string;
  code?: string;
  amount: string;
  currency: string;
  fee?: string;
  gatewayTradeNo: string;
  /** Per-order event number: a receiver ignores a notification older than one it applied. */
  eventSeq: number;
  eventTime: string;
}

export const STATEMENT_COLUMNS = [
  'order_no',
  'gateway_trade_no',
  'kind',
  'status',
  'amount',
  'currency',
  'fee',
  'executed_at',
] as const;
