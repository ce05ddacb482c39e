// The OpenAPI document is the whole contract (API.md): every route declares every status it can
// return. The statuses any route can give, whatever its handler does, are added here as routes are
// registered: 429 (the rate limits), 503 (the database down), 408/414/431 (what the HTTP parser
// refuses: a slow request, a URL too long, headers too large), and for routes that take a body 413
// (too large) and 415 (not JSON). The undeclared methods' 405s are hidden routes
// (api/method-not-allowed.ts); test/api/fuzz.test.ts checks the document against the answers.
import type { FastifyInstance } from 'fastify';
import { ERROR_RESPONSE } from './schemas';

const ANY_ROUTE = {
  400: ERROR_RESPONSE,
  // answered by the HTTP parser's refusal (api/client-errors.ts), before any route
  408: ERROR_RESPONSE,
  414: ERROR_RESPONSE,
  431: ERROR_RESPONSE,
  429: ERROR_RESPONSE,
  503: ERROR_RESPONSE,
} as const;
const WITH_BODY = { 413: ERROR_RESPONSE, 415: ERROR_RESPONSE } as const;

/** Call before registering routes. */
export function declareCommonResponses(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = (route.schema ?? {}) as { hide?: boolean; response?: Record<string, unknown> };
    if (schema.hide || route.config?.methodNotAllowed) return;
    const methods = [route.method].flat().map((m) => m.toUpperCase());
    const takesBody = methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH');
    route.schema = {
      ...schema,
      response: { ...ANY_ROUTE, ...(takesBody ? WITH_BODY : {}), ...schema.response },
    };
  });
}

/**
 * A response body for the document that lists its fields without constraining the serializer: the
 * handler's object is sent as it is (additional properties kept, no field coerced or required).
 */
export function documentedObject(description: string, fields: Record<string, string>) {
  return {
    type: 'object',
    description,
    additionalProperties: true,
    properties: Object.fromEntries(
      Object.entries(fields).map(([name, what]) => [name, { description: what }]),
    ),
  } as const;
}

export function documentedList(description: string, fields: Record<string, string>) {
  return { type: 'array', description, items: documentedObject('one of them', fields) } as const;
}
