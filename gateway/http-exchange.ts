/**
 * One HTTP request with the only distinction that matters for money: did our bytes provably
 * never reach the gateway (`not_sent`: the TCP connection was never established), or might they
 * have (`unknown`: anything that goes wrong after connect). Node's http is used directly because
 * fetch hides whether the connection was made.
 */
import http from 'node:http';
import https from 'node:https';

export type ExchangeResult =
  | { kind: 'response'; httpStatus: number; body: string }
  | { kind: 'not_sent'; reason: string }
  | { kind: 'unknown'; reason: string };

export interface ExchangeRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Deadline for the TCP (and TLS) connection; past it nothing was sent. */
  connectTimeoutMs: number;
  /** Deadline for the whole exchange, from the start to the last byte of the answer. */
  requestTimeoutMs: number;
  /** Answers longer than this are cut off as unknown, never buffered without bound. */
  maxResponseBytes: number;
  /** Aborts the exchange (classified like any other cut: not_sent before connect, else unknown). */
  signal?: AbortSignal;
}

export function exchange(request: ExchangeRequest): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    const transport = request.url.protocol === 'https:' ? https : http;
    // agent:false → a fresh connection per call: a reused keep-alive socket that the server has
    // just closed fails *after* we wrote to it, which would turn a harmless retry into an unknown.
    const req = transport.request(request.url, {
      method: request.method,
      agent: false,
      headers: { ...request.headers, connection: 'close' },
    });
    const timers: NodeJS.Timeout[] = [];

    const finish = (result: ExchangeResult): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      resolve(result);
    };
    const fail = (reason: string): void => {
      finish(connected ? { kind: 'unknown', reason } : { kind: 'not_sent', reason });
      req.destroy();
    };

    timers.push(
      setTimeout(() => {
        if (!connected) fail(`connect timeout after ${request.connectTimeoutMs} ms`);
      }, request.connectTimeoutMs),
    );
    timers.push(
      setTimeout(
        () => fail(`no complete answer within ${request.requestTimeoutMs} ms`),
        request.requestTimeoutMs,
      ),
    );

    if (request.signal) {
      const signal = request.signal;
      if (signal.aborted) return fail('aborted before start');
      const onAbort = (): void => fail('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    req.on('socket', (socket) => {
      const onConnected = (): void => {
        connected = true;
      };
      if (request.url.protocol === 'https:') socket.once('secureConnect', onConnected);
      else if (socket.connecting) socket.once('connect', onConnected);
      else connected = true;
    });
    req.on('error', (err: NodeJS.ErrnoException) => fail(`${err.code ?? 'ERROR'}: ${err.message}`));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > request.maxResponseBytes)
          fail(`answer longer than ${request.maxResponseBytes} bytes`);
        else chunks.push(chunk);
      });
      res.on('end', () =>
        finish({
          kind: 'response',
          httpStatus: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('aborted', () => fail('answer cut off'));
      res.on('error', (err) => fail(`answer broken: ${err.message}`));
    });
    req.end(request.body);
  });
}
