// What Node's HTTP parser refuses before Fastify sees a request, answered in the API's error shape
// and declared in the document (api/contract.ts): a request line too long is 414, headers too
// large 431, a request timing out 408, anything else unparseable 400. Replaces Fastify's default,
// whose body is not the API's shape.
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { errorBody } from './errors';

/** The longest request line, method and URL, read as a URL and not as a header flood. */
const REQUEST_LINE_MAX = 8 * 1024;

/** Fastify types rawPacket as a serialised Buffer; at run time it is Node's Buffer. */
type ParserError = Error & { code?: string; rawPacket?: unknown };

function refusalOf(err: ParserError): [number, string, string] {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return [408, 'REQUEST_TIMEOUT', 'the request was not received in time'];
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    const packet = Buffer.isBuffer(err.rawPacket) ? err.rawPacket : Buffer.alloc(0);
    const lineEnd = packet.indexOf('\r\n');
    const line = lineEnd === -1 ? packet.length : lineEnd;
    return line > REQUEST_LINE_MAX
      ? [414, 'URI_TOO_LONG', 'the URL is too long']
      : [431, 'HEADERS_TOO_LARGE', 'the request headers are too large'];
  }
  return [400, 'INVALID_REQUEST', 'the request could not be parsed as HTTP'];
}

export function answerClientError(err: ParserError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] = refusalOf(err);
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}
