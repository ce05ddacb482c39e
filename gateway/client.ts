/**
 * The typed gateway client: payout (代付), collection (代扣) and query, each ending in exactly one
 * outcome (outcomes.ts). Timeouts are required options, never library defaults. The client
 * never retries: what to do with `not_sent` or `unknown` is the caller's decision.
 */
import { exchange, type ExchangeResult } from './http-exchange';
import { formatAmount } from './money';
import { classifyQuery, classifySubmit, type ExpectedOrder, type QueryOutcome, type SubmitOutcome } from './outcomes';
import {
  MERCHANT_ID_HEADER, REQUEST_SIGNATURE_HEADER, REQUEST_TIMESTAMP_HEADER, SIM_FAULT_HEADER,
  type BankAccount, type OrderKind, type SubmitOrderBody,
} from './protocol';
import { signRequest, unixSeconds } from './signing';

export interface GatewayClientOptions {
  /** e.g. http://127.0.0.1:4100 */
  baseUrl: string;
  merchantId: string;
  secret: string;
  connectTimeoutMs: number;
  /** The whole call; keep it below the activity's timeout so we, not Temporal, classify it. */
  requestTimeoutMs: number;
  maxResponseBytes?: number;
  now?: () => number;
}

export interface SubmitRequest {
  orderNo: string;
  amountMinor: bigint;
  currency: string;
  account: BankAccount;
  memo?: string;
  /** Simulator only (X-Sim-Fault); a real PSP ignores the header. */
  simFault?: string;
}

export interface QueryRequest extends ExpectedOrder {
  simFault?: string;
}

const PATHS: Record<OrderKind, string> = { PAYOUT: '/v1/payouts', COLLECTION: '/v1/collections' };

export class GatewayClient {
  private readonly options: Required<GatewayClientOptions>;

  constructor(options: GatewayClientOptions) {
    for (const key of ['connectTimeoutMs', 'requestTimeoutMs'] as const) {
      if (!Number.isInteger(options[key]) || options[key] <= 0) throw new Error(`GatewayClient: ${key} must be a positive integer of ms`);
    }
    this.options = { maxResponseBytes: 1 << 20, now: Date.now, ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
  }

  payout(request: SubmitRequest): Promise<SubmitOutcome> {
    return this.submit('PAYOUT', request);
  }

  collect(request: SubmitRequest): Promise<SubmitOutcome> {
    return this.submit('COLLECTION', request);
  }

  /** Asks what became of an order we sent; the expected fields guard against a mismatched answer. */
  async query(request: QueryRequest): Promise<QueryOutcome> {
    const path = `/v1/orders/${encodeURIComponent(request.orderNo)}`;
    return classifyQuery(await this.call('GET', path, '', request.simFault), request);
  }

  private async submit(kind: OrderKind, request: SubmitRequest): Promise<SubmitOutcome> {
    const body: SubmitOrderBody = {
      orderNo: request.orderNo,
      amount: formatAmount(request.amountMinor, request.currency),
      currency: request.currency,
      account: request.account,
      ...(request.memo === undefined ? {} : { memo: request.memo }),
    };
    const expected: ExpectedOrder = { orderNo: request.orderNo, kind, amountMinor: request.amountMinor, currency: request.currency };
    return classifySubmit(await this.call('POST', PATHS[kind], JSON.stringify(body), request.simFault), expected);
  }

  private call(method: 'GET' | 'POST', path: string, body: string, simFault: string | undefined): Promise<ExchangeResult> {
    const timestamp = unixSeconds(this.options.now());
    const headers: Record<string, string> = {
      [MERCHANT_ID_HEADER]: this.options.merchantId,
      [REQUEST_TIMESTAMP_HEADER]: timestamp,
      [REQUEST_SIGNATURE_HEADER]: signRequest(this.options.secret, timestamp, method, path, body),
      accept: 'application/json',
    };
    if (method === 'POST') headers['content-type'] = 'application/json';
    if (simFault !== undefined) headers[SIM_FAULT_HEADER] = simFault;
    return exchange({
      url: new URL(this.options.baseUrl + path),
      method,
      headers,
      ...(method === 'POST' ? { body } : {}),
      connectTimeoutMs: this.options.connectTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      maxResponseBytes: this.options.maxResponseBytes,
    });
  }
}
