/**
 * Merchant authentication for /v1 routes: `X-Merchant-Id`, `X-Request-Timestamp` (unix seconds,
 * within ±5 min) and `X-Request-Signature` = hex HMAC-SHA256 of
 * `${timestamp}.${METHOD}.${path and query}.${raw body}` with the merchant's secret.
 * The raw body is kept from the JSON parser because a re-serialised body would not match.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  MERCHANT_ID_HEADER,
  REQUEST_SIGNATURE_HEADER,
  REQUEST_TIMESTAMP_HEADER,
  SIGNATURE_TOLERANCE_MS,
} from '../protocol';
import { signRequest, signaturesEqual } from '../signing';

const rawBodies = new WeakMap<FastifyRequest, Buffer>();

/** JSON bodies parsed by us, with the raw bytes kept for the signature check. */
export function installRawJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    rawBodies.set(request, raw);
    try {
      done(null, JSON.parse(raw.toString('utf8')));
    } catch {
      done(Object.assign(new Error('body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export interface Merchant {
  merchantId: string;
  secret: string;
  /** A second secret accepted during a rotation (SimulatorOptions.alsoAccept). */
  alsoAccept?: string;
}

/** A preValidation hook: 401 AUTH_FAILED unless the request is signed by the merchant. */
export function merchantAuth(merchant: Merchant, now: () => number) {
  // Fastify stops the chain when an async hook returns the reply it answered.
  return async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> => {
    const merchantId = single(request.headers[MERCHANT_ID_HEADER]);
    const timestamp = single(request.headers[REQUEST_TIMESTAMP_HEADER]);
    const signature = single(request.headers[REQUEST_SIGNATURE_HEADER]);
    const deny = (message: string): FastifyReply =>
      reply.code(401).send({ code: 'AUTH_FAILED', message });
    if (merchantId !== merchant.merchantId || timestamp === undefined || signature === undefined) {
      return deny('unknown merchant or missing signature headers');
    }
    if (
      !/^[0-9]{1,12}$/.test(timestamp) ||
      Math.abs(now() - Number(timestamp) * 1000) > SIGNATURE_TOLERANCE_MS
    ) {
      return deny('timestamp outside the allowed window');
    }
    const signedWith = (secret: string) =>
      signaturesEqual(
        signRequest(secret, timestamp, request.method, request.url, rawBodies.get(request) ?? ''),
        signature,
      );
    const accepted =
      signedWith(merchant.secret) ||
      (merchant.alsoAccept !== undefined && signedWith(merchant.alsoAccept));
    if (!accepted) return deny('bad signature');
    return undefined;
  };
}
