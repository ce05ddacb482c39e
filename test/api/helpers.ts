import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import type { TestDatabase } from '../helpers/postgres';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef0123456789';

export interface TestApi {
  readonly app: FastifyInstance;
  /** Creates a party as admin and returns an API key acting for it. */
  partyKey(kind: 'investor' | 'borrower', id: string): Promise<string>;
  operatorKey(): Promise<string>;
}

/** The API on the test file's database, built once per file and closed after it. */
export function useTestApi(
  db: TestDatabase,
  options: {
    rateLimitPerMinute?: number;
    gatewaySecret?: string;
    bankAccountCoolingOffSeconds?: number;
  } = {},
): TestApi {
  let app: FastifyInstance | undefined;
  beforeAll(async () => {
    app = await buildApp({
      pool: db.pool,
      adminApiKey: ADMIN_KEY,
      rateLimitPerMinute: options.rateLimitPerMinute,
      gatewaySecret: options.gatewaySecret,
      bankAccountCoolingOffSeconds: options.bankAccountCoolingOffSeconds,
      // The authorisation walks fail on purpose from one address; test/api/failed-auth.test.ts
      // tests the limit.
      failedAuthLimits: {
        maxFailures: 100_000,
        windowMs: 60_000,
        alertAt: 100_000,
        maxAddresses: 100,
      },
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
  });
  const issueKey = async (role: string) => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { role },
    });
    if (res.statusCode !== 201)
      throw new Error(`issuing a key for ${role}: ${res.statusCode} ${res.body}`);
    return res.json<{ key: string }>().key;
  };
  const api: TestApi = {
    get app() {
      if (!app) throw new Error('the API is ready only inside tests');
      return app;
    },
    async partyKey(kind, id) {
      const res = await api.app.inject({
        method: 'POST',
        url: `/v1/${kind}s`,
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          'idempotency-key': `create-${kind}-${id}`,
        },
        payload: { id, name: `${kind} ${id}` },
      });
      if (res.statusCode !== 201)
        throw new Error(`creating ${kind} ${id}: ${res.statusCode} ${res.body}`);
      return issueKey(`${kind}:${id}`);
    },
    operatorKey: () => issueKey('operator'),
  };
  return api;
}

/** A fresh operator key's Authorization header, issued by the admin. */
export async function operatorHeaders(app: FastifyInstance): Promise<{ authorization: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    payload: { role: 'operator' },
  });
  if (res.statusCode !== 201)
    throw new Error(`issuing an operator key: ${res.statusCode} ${res.body}`);
  return { authorization: `Bearer ${res.json<{ key: string }>().key}` };
}
