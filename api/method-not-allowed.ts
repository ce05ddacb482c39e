// An undeclared method on a known path is 405 with `Allow` (API.md), not the 404 of an unknown
// path: a client that used the wrong verb is told which ones the path has. Answered before
// authentication: the path's methods are public in the OpenAPI document anyway.
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { errorBody } from './errors';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route only answers 405 (api/method-not-allowed.ts). */
    methodNotAllowed?: boolean;
  }
}

const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const registered = new WeakMap<FastifyInstance, Map<string, Set<string>>>();

/**
 * Every route the app registered, path to methods (HEAD included where fastify adds it): what the
 * OpenAPI document must list.
 */
export function registeredRoutes(app: FastifyInstance): ReadonlyMap<string, ReadonlySet<string>> {
  return registered.get(app) ?? new Map();
}

/** Collects each path's methods as routes are added (call before registering them). */
export function declaredMethods(app: FastifyInstance): Map<string, Set<string>> {
  const byPath = new Map<string, Set<string>>();
  registered.set(app, byPath);
  app.addHook('onRoute', (route) => {
    if (route.config?.methodNotAllowed) return;
    const methods = byPath.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) methods.add(m.toUpperCase());
    byPath.set(route.url, methods);
  });
  return byPath;
}

/** For every path, a hidden route for each method it lacks, answering 405 with the ones it has. */
export function registerMethodNotAllowed(
  app: FastifyInstance,
  declared: Map<string, Set<string>>,
): void {
  for (const [url, methods] of [...declared]) {
    const missing = METHODS.filter((m) => !methods.has(m));
    if (missing.length === 0) continue;
    const allow = METHODS.filter((m) => methods.has(m)).join(', ');
    app.route({
      method: missing,
      url,
      config: { methodNotAllowed: true },
      schema: { hide: true },
      handler: async (request, reply) =>
        reply
          .status(405)
          .header('allow', allow)
          .send(
            errorBody(
              'METHOD_NOT_ALLOWED',
              `${request.method} is not a method of ${url}: use ${allow}`,
            ),
          ),
    });
  }
}
