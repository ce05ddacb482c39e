// Issue 16, item 12: secrets rotate without downtime, two valid during the window.
// - The gateway's secret: the API verifies notices against GATEWAY_SECRET and, during a rotation,
//   GATEWAY_SECRET_PREVIOUS; once the previous one is unset it is refused.
// - Outgoing, the gateway (the simulator, as a PSP lets a merchant hold two keys) accepts requests
//   signed with either secret while the worker switches over, then drops the old one.
// - API keys: a new key is issued while the old one still works, then the old one is revoked.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { loadConfig } from '../../config/env';
import { signNotification, unixSeconds } from '../../gateway/signing';
import { exchange } from '../../gateway/http-exchange';
import {
  MERCHANT_ID_HEADER,
  REQUEST_SIGNATURE_HEADER,
  REQUEST_TIMESTAMP_HEADER,
} from '../../gateway/protocol';
import { signRequest } from '../../gateway/signing';
import { ADMIN_KEY } from '../api/helpers';
import { MERCHANT_ID, startTestSimulator, tempDir } from '../gateway/helpers';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();
const OLD = 'old-gateway-secret-0123456789abcdef-retiring';
const NEW = 'new-gateway-secret-0123456789abcdef-current';
const OTHER = 'not-the-gateways-secret-0123456789abcdef';
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

async function withApi<T>(
  secrets: { gatewaySecret: string; previousGatewaySecret?: string },
  run: (app: FastifyInstance) => Promise<T>,
): Promise<T> {
  const app = await buildApp({ pool: db.pool, adminApiKey: ADMIN_KEY, ...secrets });
  try {
    return await run(app);
  } finally {
    await app.close();
  }
}

/**
 * A notice for an order nobody knows, signed with `secret`: authentic ones get past the signature
 * (to 422, unknown order); forged ones are 401.
 */
async function notice(
  app: FastifyInstance,
  secret: string,
): Promise<{ status: number; code: string }> {
  const raw = JSON.stringify({
    notifyId: `n-${Math.random()}`,
    orderNo: 'no-such-order',
    kind: 'PAYOUT',
    status: 'SUCCESS',
    amount: '1.00',
    currency: 'CNY',
    gatewayTradeNo: 'g1',
    eventSeq: 1,
    eventTime: new Date().toISOString(),
  });
  const ts = unixSeconds(Date.now());
  const res = await app.inject({
    method: 'POST',
    url: '/v1/gateway/notifications',
    payload: raw,
    headers: {
      'content-type': 'application/json',
      'x-gateway-timestamp': ts,
      'x-gateway-signature': signNotification(secret, ts, raw),
    },
  });
  return { status: res.statusCode, code: res.json().error?.code ?? 'OK' };
}

it('during a gateway secret rotation notices signed with either secret verify; after it, only the new one', async () => {
  const before = await withApi({ gatewaySecret: OLD }, async (app) => [
    await notice(app, OLD),
    await notice(app, NEW),
  ]);
  expect(before.map((r) => r.status)).toEqual([422, 401]);
  const during = await withApi({ gatewaySecret: NEW, previousGatewaySecret: OLD }, async (app) => [
    await notice(app, OLD),
    await notice(app, NEW),
    await notice(app, OTHER),
  ]);
  expect(during.map((r) => r.status)).toEqual([422, 422, 401]);
  expect(during[0].code).not.toBe('NOTIFICATION_BAD_SIGNATURE');
  const after = await withApi({ gatewaySecret: NEW }, async (app) => [
    await notice(app, OLD),
    await notice(app, NEW),
  ]);
  expect(after.map((r) => r.status)).toEqual([401, 422]);
});

it('the previous gateway secret is checked like the current one: strong in production, never the same', () => {
  const production = {
    APP_ENV: 'production',
    DATABASE_URL: 'postgres://lending_app@db:5432/lending?sslmode=verify-full',
    TEMPORAL_NAMESPACE: 'lending-production',
    GATEWAY_MERCHANT_ID: 'lending-production',
    GATEWAY_URL: 'https://psp.example',
    GATEWAY_SECRET: NEW,
    ADMIN_API_KEY: 'Zx8#qL2!vN7$wR4@tY6%uI1&oP3*aS5^',
    TEMPORAL_API_KEY: 'a-temporal-cloud-api-key',
    BANK_ACCOUNT_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  };
  expect(
    loadConfig('api', { ...production, GATEWAY_SECRET_PREVIOUS: OLD }).GATEWAY_SECRET_PREVIOUS,
  ).toBe(OLD);
  expect(() =>
    loadConfig('api', {
      ...production,
      GATEWAY_SECRET_PREVIOUS: 'dev-only-gateway-secret-change-me',
    }),
  ).toThrow(/GATEWAY_SECRET_PREVIOUS is a default or example secret/);
  expect(() => loadConfig('api', { ...production, GATEWAY_SECRET_PREVIOUS: NEW })).toThrow(
    /the same as GATEWAY_SECRET/,
  );
});

it('an API key rotates without downtime: the new key works alongside the old, then the old is revoked', async () => {
  await withApi({ gatewaySecret: NEW }, async (app) => {
    const issue = async () =>
      (
        await app.inject({
          method: 'POST',
          url: '/v1/api-keys',
          headers: admin,
          payload: { role: 'operator' },
        })
      ).json<{ id: string; key: string }>();
    const read = async (key: string) =>
      (
        await app.inject({
          method: 'GET',
          url: '/v1/ledger/trial-balance',
          headers: { authorization: `Bearer ${key}` },
        })
      ).statusCode;
    const old = await issue();
    const next = await issue();
    // the window: both valid
    expect([await read(old.key), await read(next.key)]).toEqual([200, 200]);
    expect(
      (await app.inject({ method: 'DELETE', url: `/v1/api-keys/${old.id}`, headers: admin }))
        .statusCode,
    ).toBe(200);
    expect([await read(old.key), await read(next.key)]).toEqual([401, 200]);
  });
});

/** The gateway's answer to a query signed with `secret`: 200 (served, the order unknown) or 401. */
async function askGateway(baseUrl: string, secret: string): Promise<number> {
  const path = '/v1/orders/no-such-order';
  const timestamp = unixSeconds(Date.now());
  const res = await exchange({
    url: new URL(baseUrl + path),
    method: 'GET',
    headers: {
      [MERCHANT_ID_HEADER]: MERCHANT_ID,
      [REQUEST_TIMESTAMP_HEADER]: timestamp,
      [REQUEST_SIGNATURE_HEADER]: signRequest(secret, timestamp, 'GET', path, ''),
    },
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 2_000,
    maxResponseBytes: 1 << 20,
  });
  return res.kind === 'response' ? res.httpStatus : -1;
}

it("the worker's requests switch secrets without downtime: the gateway accepts both during the window, then only the new one", async () => {
  const dir = tempDir();
  const at = async (secrets: { secret: string; alsoAccept?: string }) => {
    const sim = await startTestSimulator({ dataDir: dir.path, ...secrets });
    try {
      return [
        await askGateway(sim.url, OLD),
        await askGateway(sim.url, NEW),
        await askGateway(sim.url, OTHER),
      ];
    } finally {
      await sim.close();
    }
  };
  try {
    // before: the old secret only
    expect(await at({ secret: OLD })).toEqual([200, 401, 401]);
    // the gateway adds the new one: a worker still on the old one and one restarted on the new
    // one are both served
    expect(await at({ secret: OLD, alsoAccept: NEW })).toEqual([200, 200, 401]);
    // the gateway signs with the new one and still accepts the old until the workers are done
    expect(await at({ secret: NEW, alsoAccept: OLD })).toEqual([200, 200, 401]);
    // after: the new one only
    expect(await at({ secret: NEW })).toEqual([401, 200, 401]);
  } finally {
    dir.remove();
  }
});
