/**
 * Outgoing async notifications, delivered like a real PSP: signed (HMAC-SHA256 over
 * `${timestamp}.${body}`, re-signed on every attempt), retried with exponential backoff until a
 * 2xx answer or the attempt limit. Each delivery is logged for tests and `/_sim/notifications`.
 * The queue lives in memory: notifications pending at a restart are not resent.
 */
import { exchange } from '../http-exchange';
import {
  NOTIFY_ATTEMPT_HEADER,
  NOTIFY_ID_HEADER,
  NOTIFY_SIGNATURE_HEADER,
  NOTIFY_TIMESTAMP_HEADER,
  type NotificationBody,
} from '../protocol';
import { signNotification, unixSeconds } from '../signing';
import type { Timers } from './timers';

export interface NotifierOptions {
  url?: string;
  secret: string;
  maxAttempts: number;
  backoffMs: number;
  backoffMaxMs: number;
  timeoutMs: number;
  now: () => number;
  timers: Timers;
}

export interface DeliveryAttempt {
  notifyId: string;
  orderNo: string;
  status: string;
  eventSeq: number;
  attempt: number;
  at: string;
  /** `acked`, `http 500`, or the transport error. */
  result: string;
  badSignature: boolean;
}

/** Bound on the in-memory log: the simulator may run for days. */
const MAX_LOG_ENTRIES = 100_000;

export class Notifier {
  private readonly log: DeliveryAttempt[] = [];
  private readonly closing = new AbortController();

  constructor(private readonly options: NotifierOptions) {}

  get enabled(): boolean {
    return this.options.url !== undefined;
  }

  /** Schedules one delivery (with its retries) after delayMs. */
  send(body: NotificationBody, delayMs: number, badSignature: boolean): void {
    if (!this.enabled) return;
    this.options.timers.schedule(delayMs, () =>
      this.start(JSON.stringify(body), body, 1, badSignature),
    );
  }

  /** Cuts deliveries in flight (their retries die with the timers). */
  close(): void {
    this.closing.abort();
  }

  private start(raw: string, body: NotificationBody, attempt: number, badSignature: boolean): void {
    this.attempt(raw, body, attempt, badSignature).catch((err: unknown) => {
      // A bug here must not crash the gateway; it is visible in the delivery log instead.
      this.record(body, attempt, `internal error: ${String(err)}`, badSignature);
    });
  }

  private record(
    body: NotificationBody,
    attempt: number,
    result: string,
    badSignature: boolean,
  ): void {
    if (this.log.length >= MAX_LOG_ENTRIES) this.log.shift();
    this.log.push({
      notifyId: body.notifyId,
      orderNo: body.orderNo,
      status: body.status,
      eventSeq: body.eventSeq,
      attempt,
      at: new Date(this.options.now()).toISOString(),
      result,
      badSignature,
    });
  }

  attempts(): DeliveryAttempt[] {
    return [...this.log];
  }

  private async attempt(
    raw: string,
    body: NotificationBody,
    attempt: number,
    badSignature: boolean,
  ): Promise<void> {
    const url = this.options.url;
    if (url === undefined || this.options.timers.isClosed) return;
    const timestamp = unixSeconds(this.options.now());
    // The bad-signature fault signs with a key the merchant does not have, on every attempt.
    const secret = badSignature ? `${this.options.secret}-wrong` : this.options.secret;
    const result = await exchange({
      url: new URL(url),
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [NOTIFY_TIMESTAMP_HEADER]: timestamp,
        [NOTIFY_SIGNATURE_HEADER]: signNotification(secret, timestamp, raw),
        [NOTIFY_ID_HEADER]: body.notifyId,
        [NOTIFY_ATTEMPT_HEADER]: String(attempt),
      },
      body: raw,
      connectTimeoutMs: this.options.timeoutMs,
      requestTimeoutMs: this.options.timeoutMs,
      maxResponseBytes: 64 * 1024,
      signal: this.closing.signal,
    });
    if (this.options.timers.isClosed) return;
    const acked = result.kind === 'response' && result.httpStatus >= 200 && result.httpStatus < 300;
    const outcome =
      result.kind === 'response' ? (acked ? 'acked' : `http ${result.httpStatus}`) : result.reason;
    this.record(body, attempt, outcome, badSignature);
    if (acked || attempt >= this.options.maxAttempts) return;
    const backoffMs = Math.min(
      this.options.backoffMs * 2 ** (attempt - 1),
      this.options.backoffMaxMs,
    );
    this.options.timers.schedule(backoffMs, () => this.start(raw, body, attempt + 1, badSignature));
  }
}
