// API.md: an undeclared method on a known path is 405 with `Allow`; an unknown path stays 404.
import { useTestDatabase } from '../helpers/postgres';
import { useTestApi } from './helpers';

const db = useTestDatabase();
const api = useTestApi(db);

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const concrete = (path: string) =>
  path.replace(/\{[^}]+\}/g, (name) =>
    name === '{n}' ? '1' : name === '{date}' ? '2026-01-01' : 'x1',
  );

it('every path of the OpenAPI document answers each method it does not declare with 405 and Allow, and writes nothing', async () => {
  const doc = (await api.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{
    paths: Record<string, Record<string, unknown>>;
  }>();
  const auditBefore = (await db.pool.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n;
  let checked = 0;
  for (const [path, operations] of Object.entries(doc.paths)) {
    const declared = new Set(Object.keys(operations).map((m) => m.toUpperCase()));
    if (declared.has('GET')) declared.add('HEAD'); // fastify answers HEAD for every GET
    const allow = METHODS.filter((m) => declared.has(m)).join(', ');
    for (const method of METHODS.filter((m) => !declared.has(m))) {
      const res = await api.app.inject({
        method,
        url: concrete(path),
        payload: method === 'POST' || method === 'PUT' || method === 'PATCH' ? {} : undefined,
      });
      expect({
        route: `${method} ${path}`,
        status: res.statusCode,
        allow: res.headers.allow,
      }).toEqual({ route: `${method} ${path}`, status: 405, allow });
      if (method !== 'HEAD') expect(res.json().error.code).toBe('METHOD_NOT_ALLOWED');
      checked += 1;
    }
  }
  expect(checked).toBeGreaterThan(60);
  expect((await db.pool.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n).toBe(
    auditBefore,
  );
  // the 405 routes are not in the document
  expect(doc.paths).not.toHaveProperty(['/v1/loans', 'put']);
});

it('a declared method still needs its key, and an unknown path is still 404', async () => {
  expect((await api.app.inject({ method: 'GET', url: '/v1/loans/x1' })).statusCode).toBe(401);
  expect((await api.app.inject({ method: 'DELETE', url: '/v1/loans/x1' })).statusCode).toBe(405);
  expect((await api.app.inject({ method: 'GET', url: '/v1/no-such-thing' })).statusCode).toBe(404);
});
