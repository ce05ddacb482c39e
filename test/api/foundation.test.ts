// The API's edges: authentication, roles and ownership, the error shape, strict schemas, the
// Idempotency-Key contract, rate limits, OpenAPI, health and metrics. Real Postgres underneath.
import { Ledger } from '../../ledger';
import { useTestDatabase } from '../helpers/postgres';
import { ADMIN_KEY, useTestApi } from './helpers';

const db = useTestDatabase();
const api = useTestApi(db);
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

async function count(table: string): Promise<number> {
  const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0].n;
}

describe('authentication and authorisation', () => {
  it('refuses a missing, malformed, unknown or revoked key with 401 and the error shape', async () => {
    for (const authorization of [
      undefined,
      'Basic abc',
      'Bearer ',
      'Bearer lck_0000000000000000_' + 'A'.repeat(43),
      `Bearer ${ADMIN_KEY}x`,
    ]) {
      const res = await api.app.inject({
        method: 'GET',
        url: '/v1/ledger/trial-balance',
        headers: authorization ? { authorization } : {},
      });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({
        error: { code: 'UNAUTHENTICATED', message: expect.any(String), details: {} },
      });
    }
    const key = await api.operatorKey();
    await db.pool.query('UPDATE api_keys SET revoked_at = now()');
    const res = await api.app.inject({
      method: 'GET',
      url: '/v1/ledger/trial-balance',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.statusCode).toBe(401);
  });

  it('stores keys hashed and never echoes them after issue', async () => {
    const key = await api.partyKey('investor', 'hash-check');
    const { rows } = await db.pool.query('SELECT secret_hash FROM api_keys');
    for (const row of rows) expect(key).not.toContain(row.secret_hash);
    expect(JSON.stringify(rows)).not.toContain(key.split('_')[2]);
  });

  it("answers 403 for a wrong role and 404 for another investor's resources", async () => {
    const aliceKey = await api.partyKey('investor', 'alice');
    await api.partyKey('investor', 'bob');
    const alice = { authorization: `Bearer ${aliceKey}` };
    expect(
      (await api.app.inject({ method: 'GET', url: '/v1/ledger/trial-balance', headers: alice }))
        .statusCode,
    ).toBe(403);
    expect(
      (
        await api.app.inject({
          method: 'POST',
          url: '/v1/investors',
          headers: { ...alice, 'idempotency-key': 'k1' },
          payload: { name: 'x' },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (await api.app.inject({ method: 'GET', url: '/v1/investors/alice/balance', headers: alice }))
        .statusCode,
    ).toBe(200);
    const other = await api.app.inject({
      method: 'GET',
      url: '/v1/investors/bob/balance',
      headers: alice,
    });
    const missing = await api.app.inject({
      method: 'GET',
      url: '/v1/investors/nobody/balance',
      headers: alice,
    });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toEqual(missing.json());
    const operator = { authorization: `Bearer ${await api.operatorKey()}` };
    expect(
      (await api.app.inject({ method: 'GET', url: '/v1/investors/bob/balance', headers: operator }))
        .statusCode,
    ).toBe(200);
  });
});

describe('input at the edge', () => {
  it.each([
    ['unknown field', { name: 'x', extra: 1 }, 400, 'INVALID_REQUEST'],
    ['name as a number', { name: 1000 }, 400, 'INVALID_REQUEST'],
    ['SQL in the id', { id: "x'; DROP TABLE parties;--", name: 'x' }, 422, 'INVALID_ID'],
    ['an id of 65 characters', { id: 'i'.repeat(65), name: 'x' }, 422, 'INVALID_ID'],
    ['empty name', { name: '' }, 400, 'INVALID_REQUEST'],
  ])('refuses %s with %i and writes nothing', async (_label, payload, status, code) => {
    const before = await count('parties');
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/investors',
      headers: { ...admin, 'idempotency-key': `bad-${_label.replace(/\W/g, '')}` },
      payload,
    });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(await count('parties')).toBe(before);
  });

  it('refuses an oversized body with 413 and bad path ids with 422 INVALID_ID', async () => {
    const big = await api.app.inject({
      method: 'POST',
      url: '/v1/investors',
      headers: { ...admin, 'idempotency-key': 'big' },
      payload: { name: 'x'.repeat(100_000) },
    });
    expect(big.statusCode).toBe(413);
    const badId = await api.app.inject({
      method: 'GET',
      url: `/v1/investors/${encodeURIComponent("1' OR '1'='1")}/balance`,
      headers: admin,
    });
    expect(badId.statusCode).toBe(422);
    expect(badId.json().error).toMatchObject({ code: 'INVALID_ID', details: { field: 'id' } });
  });
});

describe('Idempotency-Key', () => {
  it('is required, replays the first response, refuses another body with 422', async () => {
    const missing = await api.app.inject({
      method: 'POST',
      url: '/v1/investors',
      headers: admin,
      payload: { name: 'no key' },
    });
    expect(missing.statusCode).toBe(400);
    const headers = { ...admin, 'idempotency-key': 'create-carol' };
    const first = await api.app.inject({
      method: 'POST',
      url: '/v1/investors',
      headers,
      payload: { id: 'carol', name: 'Carol' },
    });
    const again = await api.app.inject({
      method: 'POST',
      url: '/v1/investors',
      headers,
      payload: { id: 'carol', name: 'Carol' },
    });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotency-replayed']).toBe('true');
    expect(first.headers['idempotency-replayed']).toBeUndefined();
    const reused = await api.app.inject({
      method: 'POST',
      url: '/v1/investors',
      headers,
      payload: { id: 'carol', name: 'Someone else' },
    });
    expect(reused.statusCode).toBe(422);
    expect(reused.json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM parties WHERE id = 'carol'`,
    );
    expect(rows[0].n).toBe(1);
    // The party's ledger account was opened with it, once.
    expect((await new Ledger(db.pool).balance('investor:carol:available')).posted).toBe(0n);
  });

  it('answers a concurrent duplicate with 409 or the replay, and creates once', async () => {
    const headers = { ...admin, 'idempotency-key': 'create-dave' };
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        api.app.inject({
          method: 'POST',
          url: '/v1/investors',
          headers,
          payload: { id: 'dave', name: 'Dave' },
        }),
      ),
    );
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(
      results.filter((r) => r.statusCode === 201 && r.headers['idempotency-replayed'] !== 'true'),
    ).toHaveLength(1);
    for (const r of results.filter((x) => x.statusCode === 409))
      expect(r.json().error.code).toBe('IDEMPOTENCY_KEY_IN_USE');
  });

  it('never answers 500 to a duplicate that arrives as the first commits (issue 16 item 8: a burst, many rounds)', async () => {
    const statuses = new Map<number, number>();
    for (let round = 0; round < 40; round++) {
      const headers = { ...admin, 'idempotency-key': `burst-${round}` };
      const results = await Promise.all(
        Array.from({ length: 12 }, () =>
          api.app.inject({
            method: 'POST',
            url: '/v1/investors',
            headers,
            payload: { id: `burst-${round}`, name: 'Burst' },
          }),
        ),
      );
      for (const r of results) statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      expect(
        results.filter((r) => r.statusCode === 201 && r.headers['idempotency-replayed'] !== 'true'),
      ).toHaveLength(1);
    }
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([201]));
    // no 500 from the primary key
    expect([...statuses.keys()].filter((s) => s !== 201 && s !== 409)).toEqual([]);
  });

  it('replays a refusal too: the same request refused twice does not run twice', async () => {
    await api.app.inject({
      method: 'POST',
      url: '/v1/investors',
      headers: { ...admin, 'idempotency-key': 'erin-1' },
      payload: { id: 'erin', name: 'Erin' },
    });
    const headers = { ...admin, 'idempotency-key': 'erin-2' };
    const conflict = await api.app.inject({
      method: 'POST',
      url: '/v1/investors',
      headers,
      payload: { id: 'erin', name: 'Erin' },
    });
    expect(conflict.statusCode).toBe(409);
    const replay = await api.app.inject({
      method: 'POST',
      url: '/v1/investors',
      headers,
      payload: { id: 'erin', name: 'Erin' },
    });
    expect(replay.statusCode).toBe(409);
    expect(replay.headers['idempotency-replayed']).toBe('true');
  });
});

describe('public routes', () => {
  it('serves health, metrics and an OpenAPI document listing the routes', async () => {
    expect((await api.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
    const metrics = await api.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('http_requests_total');
    const spec = (await api.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/v1/investors',
        '/v1/borrowers',
        '/v1/api-keys',
        '/v1/investors/{id}/balance',
        '/v1/ledger/trial-balance',
      ]),
    );
  });

  it('sets security headers', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});
