// Shared by the gateway tests: a real simulator on port 0 in a temp dir, a client with short
// timeouts, a notification receiver, and polling. No Postgres, no Temporal.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayClient, type GatewayClientOptions } from '../../gateway/client';
import { exchange, type ExchangeResult } from '../../gateway/http-exchange';
import type { BankAccount } from '../../gateway/protocol';
import {
  MERCHANT_ID_HEADER,
  REQUEST_SIGNATURE_HEADER,
  REQUEST_TIMESTAMP_HEADER,
} from '../../gateway/protocol';
import { signRequest, unixSeconds } from '../../gateway/signing';
import { startSimulator, type RunningSimulator } from '../../gateway/simulator/server';
import type { SimulatorInput } from '../../gateway/simulator/options';

export const SECRET = 'test-secret-0123456789abcdef';
export const MERCHANT_ID = 'lending-core';
export const ACCOUNT: BankAccount = {
  bankCode: 'ICBC',
  accountNo: '6222020200112233',
  accountName: '张三',
};

/** Short enough for a fast suite, long enough to be past CLIENT_TIMEOUT_MS. */
export const FAST_TIMINGS = {
  timeoutHoldMs: 600,
  processingMs: 300,
  lateNotifyMs: 500,
  notifyGapMs: 60,
  notifyBackoffMs: 40,
  notifyBackoffMaxMs: 200,
  notifyTimeoutMs: 500,
  notifyMaxAttempts: 4,
} as const;

export const CLIENT_TIMEOUT_MS = 300;

let counter = 0;
/** A unique order number per call (unique across files too). */
export function orderNo(prefix = 'T'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'gateway-sim-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function startTestSimulator(
  overrides: Partial<SimulatorInput> & { dataDir: string },
): Promise<RunningSimulator> {
  return startSimulator({
    port: 0,
    secret: SECRET,
    merchantId: MERCHANT_ID,
    ...FAST_TIMINGS,
    ...overrides,
  });
}

export function clientFor(
  url: string,
  overrides: Partial<GatewayClientOptions> = {},
): GatewayClient {
  return new GatewayClient({
    baseUrl: url,
    merchantId: MERCHANT_ID,
    secret: SECRET,
    connectTimeoutMs: 200,
    requestTimeoutMs: CLIENT_TIMEOUT_MS,
    ...overrides,
  });
}

/** A merchant-signed GET (for routes the client does not wrap, e.g. statements). */
export function signedGet(
  baseUrl: string,
  path: string,
  timeoutMs = 2_000,
): Promise<ExchangeResult> {
  const timestamp = unixSeconds(Date.now());
  return exchange({
    url: new URL(baseUrl + path),
    method: 'GET',
    headers: {
      [MERCHANT_ID_HEADER]: MERCHANT_ID,
      [REQUEST_TIMESTAMP_HEADER]: timestamp,
      [REQUEST_SIGNATURE_HEADER]: signRequest(SECRET, timestamp, 'GET', path, ''),
    },
    connectTimeoutMs: timeoutMs,
    requestTimeoutMs: timeoutMs,
    maxResponseBytes: 10 << 20,
  });
}

/** A merchant-signed POST with a raw body (for malformed-input tests). */
export function signedPost(
  baseUrl: string,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<ExchangeResult> {
  const timestamp = unixSeconds(Date.now());
  return exchange({
    url: new URL(baseUrl + path),
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [MERCHANT_ID_HEADER]: MERCHANT_ID,
      [REQUEST_TIMESTAMP_HEADER]: timestamp,
      [REQUEST_SIGNATURE_HEADER]: signRequest(SECRET, timestamp, 'POST', path, body),
      ...headers,
    },
    body,
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 2_000,
    maxResponseBytes: 1 << 20,
  });
}

/** Unauthenticated JSON call to a /_sim/ control endpoint. */
export async function control(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ httpStatus: number; json: unknown }> {
  const result = await exchange({
    url: new URL(baseUrl + path),
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 2_000,
    maxResponseBytes: 10 << 20,
  });
  if (result.kind !== 'response') throw new Error(`control call failed: ${result.reason}`);
  return { httpStatus: result.httpStatus, json: JSON.parse(result.body) as unknown };
}

export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface ReceivedNotification {
  headers: http.IncomingHttpHeaders;
  rawBody: Buffer;
  body: Record<string, unknown>;
  receivedAtMs: number;
  /** What the receiver answered. */
  answered: number;
}

/**
 * The merchant's notification endpoint: records every delivery and answers 200, or 500 for the
 * first `failFirst` deliveries of each notifyId (to exercise the gateway's retries).
 */
export class NotificationReceiver {
  readonly received: ReceivedNotification[] = [];
  failFirst = 0;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      const body = JSON.parse(rawBody.toString('utf8')) as Record<string, unknown>;
      const seen = this.received.filter((n) => n.body.notifyId === body.notifyId).length;
      const answered = seen < this.failFirst ? 500 : 200;
      this.received.push({
        headers: req.headers,
        rawBody,
        body,
        receivedAtMs: Date.now(),
        answered,
      });
      res
        .writeHead(answered, { 'content-type': 'text/plain', connection: 'close' })
        .end(answered === 200 ? 'success' : 'error');
    });
  });

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/notify`;
  }

  forOrder(orderNo: string): ReceivedNotification[] {
    return this.received.filter((n) => n.body.orderNo === orderNo);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
