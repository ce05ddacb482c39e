/** HMAC-SHA256 signing shared by merchant requests and gateway notifications. */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Hex HMAC-SHA256 of `${timestamp}.${raw body}` (notifications). */
export function signNotification(
  secret: string,
  timestamp: string,
  rawBody: Buffer | string,
): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/**
 * Hex HMAC-SHA256 of `${timestamp}.${METHOD}.${path}.${raw body}` (merchant requests). The method
 * and path are signed so a signature for a query cannot be replayed as a payout.
 */
export function signRequest(
  secret: string,
  timestamp: string,
  method: string,
  path: string,
  rawBody: Buffer | string,
): string {
  return createHmac('sha256', secret)
    .update(`${timestamp}.${method.toUpperCase()}.${path}.`)
    .update(rawBody)
    .digest('hex');
}

/** Constant-time comparison of two hex signatures; false for anything not 64 hex digits. */
export function signaturesEqual(expectedHex: string, givenHex: string): boolean {
  if (!/^[0-9a-f]{64}$/i.test(givenHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(givenHex, 'hex'));
}

/** Unix seconds as the decimal string both signatures use. */
export function unixSeconds(nowMs: number): string {
  return Math.floor(nowMs / 1000).toString();
}
