/**
 * The typed gateway client: payout (代付), collection (代扣) and query, each ending in exactly one
 * outcome (outcomes.ts). Timeouts are required options, never library defaults. The client
 * never retries: what to do with `not_sent` or `unknown` is the caller's decision.
 */
import { Readable } from 'node:stream';
import { exchange, type ExchangeResult } from './http-exchange';
import { formatWireAmount } from '../ledger/money';
import {
  classifyQuery,
  classifySubmit,
  type ExpectedOrder,
  type QueryOutcome,
  type SubmitOutcome,
} from './outcomes';
import {
  MERCHANT_ID_HEADER,
  REQUEST_SIGNATURE_HEADER,
  REQUEST_TIMESTAMP_HEADER,
  SIM_FAULT_HEADER,
  type BankAccount,
  type OrderKind,
  type SubmitOrderBody,
} from './protocol';
import { signRequest, unixSeconds } from './signing';

/** A statement is a whole day: longer than an order call, bounded all the same. */
const STATEMENT_TIMEOUT_MS = 120_000;

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
      if (!Number.isInteger(options[key]) || options[key] <= 0)
        throw new Error(`GatewayClient: ${key} must be a positive integer of ms`);
    }
    this.options = {
      maxResponseBytes: 1 << 20,
      now: Date.now,
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
    };
  }

  payout(request: SubmitRequest): Promise<SubmitOutcome> {
    return this.submit('PAYOUT', request);
  }

  collect(request: SubmitRequest): Promise<SubmitOutcome> {
    return this.submit('COLLECTION', request);
  }

  /**
   * Asks what became of an order we sent; the expected fields guard against a mismatched answer.
   */
  async query(request: QueryRequest): Promise<QueryOutcome> {
    const path = `/v1/orders/${encodeURIComponent(request.orderNo)}`;
    return classifyQuery(await this.call('GET', path, '', request.simFault), request);
  }

  private async submit(kind: OrderKind, request: SubmitRequest): Promise<SubmitOutcome> {
    const body: SubmitOrderBody = {
      orderNo: request.orderNo,
      amount: formatWireAmount(request.amountMinor, request.currency),
      currency: request.currency,
      account: request.account,
      ...(request.memo === undefined ? {} : { memo: request.memo }),
    };
    const expected: ExpectedOrder = {
      orderNo: request.orderNo,
      kind,
      amountMinor: request.amountMinor,
      currency: request.currency,
    };
    return classifySubmit(
      await this.call('POST', PATHS[kind], JSON.stringify(body), request.simFault),
      expected,
    );
  }

  /**
   * The day's statement (对账单, YYYY-MM-DD, UTC) as the gateway's CSV, streamed: a day of many
   * orders never sits in memory. Throws unless the gateway answers 200.
   */
  async statement(date: string): Promise<Readable> {
    const path = `/v1/statements/${encodeURIComponent(date)}`;
    const res = await fetch(this.options.baseUrl + path, {
      headers: this.signedHeaders('GET', path, ''),
      signal: AbortSignal.timeout(STATEMENT_TIMEOUT_MS),
    });
    if (res.status !== 200 || !res.body) throw new Error(`statement ${date}: HTTP ${res.status}`);
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  }

  private signedHeaders(
    method: 'GET' | 'POST',
    path: string,
    body: string,
  ): Record<string, string> {
    const timestamp = unixSeconds(this.options.now());
    return {
      [MERCHANT_ID_HEADER]: this.options.merchantId,
      [REQUEST_TIMESTAMP_HEADER]: timestamp,
      [REQUEST_SIGNATURE_HEADER]: signRequest(this.options.secret, timestamp, method, path, body),
    };
  }

  private call(
    method: 'GET' | 'POST',
    path: string,
    body: string,
    simFault: string | undefined,
  ): Promise<ExchangeResult> {
    const headers: Record<string, string> = {
      ...this.signedHeaders(method, path, body),
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
