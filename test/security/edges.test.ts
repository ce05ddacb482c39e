// The doors the incidents went through, each with a test that fails if it opens again: keys that
// cannot be revoked, a route without authentication, secrets in logs, SQL built from strings, an
// audit trail that can be edited.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import ts from 'typescript';
import { buildApp } from '../../api/app';
import { LOG_REDACTIONS } from '../../api/log-redaction';
import { signNotification, unixSeconds } from '../../gateway/signing';
import { ADMIN_KEY, useTestApi } from '../api/helpers';
import { addAccountVerifiedWithoutGateway } from '../helpers/bank-accounts';
import { ACCOUNT, SECRET } from '../gateway/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor } from '../helpers/stack';

const db = useTestDatabase();
const api = useTestApi(db);
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const ROOT = join(__dirname, '..', '..');

it('a revoked or expired key is refused at once; issuing and revoking are in the audit trail, which nobody can edit', async () => {
  const issued = await api.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: admin,
    payload: { role: 'operator' },
  });
  const { id, key } = issued.json<{ id: string; key: string }>();
  const asOperator = { authorization: `Bearer ${key}` };
  expect(
    (await api.app.inject({ method: 'GET', url: '/v1/ledger/trial-balance', headers: asOperator }))
      .statusCode,
  ).toBe(200);
  expect(
    (await api.app.inject({ method: 'GET', url: '/v1/audit', headers: asOperator })).statusCode,
  ).toBe(403);
  expect(
    (await api.app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: asOperator }))
      .statusCode,
  ).toBe(403);
  const revoked = await api.app.inject({
    method: 'DELETE',
    url: `/v1/api-keys/${id}`,
    headers: admin,
  });
  expect(revoked.statusCode).toBe(200);
  expect(
    (await api.app.inject({ method: 'GET', url: '/v1/ledger/trial-balance', headers: asOperator }))
      .statusCode,
  ).toBe(401);
  expect(
    (
      await api.app.inject({
        method: 'DELETE',
        url: '/v1/api-keys/0000000000000000',
        headers: admin,
      })
    ).statusCode,
  ).toBe(404);
  expect(
    (
      await api.app.inject({
        method: 'DELETE',
        url: `/v1/api-keys/${encodeURIComponent("x' OR '1'='1")}`,
        headers: admin,
      })
    ).statusCode,
  ).toBe(422);

  const expiring = (
    await api.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: admin,
      payload: { role: 'operator', expiresAt: new Date(Date.now() + 60_000).toISOString() },
    })
  ).json();
  await db.pool.query(
    `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`,
    [expiring.id],
  ); // the clock moves on
  expect(
    (
      await api.app.inject({
        method: 'GET',
        url: '/v1/ledger/trial-balance',
        headers: { authorization: `Bearer ${expiring.key}` },
      })
    ).statusCode,
  ).toBe(401);

  const audit = (
    await api.app.inject({ method: 'GET', url: '/v1/audit?limit=10', headers: admin })
  ).json<{ entries: { action: string; subject: string; actor: string; requestId: string }[] }>();
  expect(audit.entries.filter((e) => e.subject === id).map((e) => e.action)).toEqual([
    'api_key.revoked',
    'api_key.issued',
  ]);
  expect(audit.entries[0]).toMatchObject({
    actor: 'admin:admin-env',
    requestId: expect.any(String),
  });
  expect(JSON.stringify(audit)).not.toContain(key); // no response echoes a secret
  await expect(db.pool.query(`UPDATE audit_log SET actor = 'someone-else'`)).rejects.toThrow(
    /append-only/,
  );
  await expect(db.pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
  await expect(db.pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
});

it('every route of the OpenAPI document refuses a request without a key, except the four public ones', async () => {
  const doc = (await api.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<{
    paths: Record<string, Record<string, unknown>>;
  }>();
  const PUBLIC = ['/healthz', '/metrics', '/v1/openapi.json', '/v1/gateway/notifications'];
  let checked = 0;
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const method of Object.keys(methods)) {
      const url = path.replace(/\{[^}]+\}/g, (name) =>
        name === '{n}'
          ? '1'
          : name === '{date}'
            ? '2026-01-01'
            : name === '{channel}'
              ? 'default'
              : name === '{id}' && path.startsWith('/v1/api-keys')
                ? '0123456789abcdef'
                : 'x1',
      );
      const res = await api.app.inject({
        method: method.toUpperCase() as 'GET',
        url,
        payload: method === 'get' || method === 'delete' ? undefined : {},
      });
      if (PUBLIC.includes(path)) expect(res.statusCode).not.toBe(401);
      else {
        expect({ route: `${method} ${path}`, status: res.statusCode }).toEqual({
          route: `${method} ${path}`,
          status: 401,
        });
        checked += 1;
      }
    }
  }
  expect(checked).toBeGreaterThan(25);
});

it('the logs of a run never contain a key, a signature or an account number', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const app: FastifyInstance = await buildApp({
    pool: db.pool,
    adminApiKey: ADMIN_KEY,
    gatewaySecret: SECRET,
    logger: { level: 'trace', redact: LOG_REDACTIONS, stream: sink },
  });
  try {
    await app.inject({
      method: 'POST',
      url: '/v1/investors',
      headers: { ...admin, 'idempotency-key': 'log-1' },
      payload: { id: 'logan', name: 'Logan', bankAccount: ACCOUNT },
    });
    const { key } = (
      await app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: admin,
        payload: { role: 'investor:logan' },
      })
    ).json();
    await fundInvestor(db, 'logan', 100_000n);
    // The number travels in this body: the logs must not keep it.
    const bankAccountId = await addAccountVerifiedWithoutGateway(app, db, {
      partyId: 'logan',
      authorization: `Bearer ${key}`,
      account: ACCOUNT,
    });
    await app.inject({
      method: 'POST',
      url: '/v1/investors/logan/withdrawals',
      headers: { authorization: `Bearer ${key}`, 'idempotency-key': 'log-2' },
      payload: { amount: '1.00', bankAccountId },
    });
    await app.inject({
      method: 'GET',
      url: '/v1/investors/logan/balance',
      headers: { authorization: `Bearer ${key}wrong` },
    });
    const raw = JSON.stringify({
      notifyId: 'n1',
      orderNo: 'nope',
      kind: 'PAYOUT',
      status: 'SUCCESS',
      amount: '1.00',
      currency: 'CNY',
      gatewayTradeNo: 'g',
      eventSeq: 1,
      eventTime: new Date().toISOString(),
    });
    const ts = unixSeconds(Date.now());
    const signature = signNotification(SECRET, ts, raw);
    await app.inject({
      method: 'POST',
      url: '/v1/gateway/notifications',
      payload: raw,
      headers: {
        'content-type': 'application/json',
        'x-gateway-timestamp': ts,
        'x-gateway-signature': signature,
      },
    });
    const log = lines.join('');
    // the run did log (errors and alerts; no per-request lines)
    expect(log).toContain('gateway notification refused');
    for (const secret of [ADMIN_KEY, key, key.split('_')[2], signature, ACCOUNT.accountNo, SECRET])
      expect(log).not.toContain(secret);
  } finally {
    await app.close();
  }
});

/**
 * Every `.query(...)` whose SQL text is built from values: a template with substitutions or a
 * concatenation.
 */
function stringBuiltSql(file: string): string[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.ES2022,
    true,
  );
  const found: string[] = [];
  // Composing constant SQL fragments (ALL_CAPS constants, or a fragment function called with
  // literal placeholders) is allowed.
  const constantFragment = (e: ts.Expression): boolean =>
    (ts.isIdentifier(e) && /^[A-Z][A-Z0-9_]*$/.test(e.text)) ||
    (ts.isCallExpression(e) &&
      e.arguments.every((a) => ts.isStringLiteral(a) || ts.isRegularExpressionLiteral(a)) &&
      (ts.isIdentifier(e.expression) ||
        (ts.isPropertyAccessExpression(e.expression) &&
          constantFragment(e.expression.expression))));
  const visit = (node: ts.Node) => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'query' &&
      node.arguments.length > 0
    ) {
      const sql = node.arguments[0];
      const built =
        (ts.isTemplateExpression(sql) &&
          sql.templateSpans.some((s) => !constantFragment(s.expression))) ||
        (ts.isBinaryExpression(sql) && sql.operatorToken.kind === ts.SyntaxKind.PlusToken);
      if (built)
        found.push(
          `${file.slice(ROOT.length + 1)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`,
        );
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

it('no SQL statement is built from strings: every value is a bind parameter', () => {
  const dirs = ['ledger', 'api', 'activities', 'loans', 'payments', 'reconciliation', 'worker'];
  const files = dirs.flatMap((d) => tsFiles(join(ROOT, d)));
  expect(files.length).toBeGreaterThan(40);
  expect(files.flatMap(stringBuiltSql)).toEqual([]);
  // The scanner itself finds what it must: values in the SQL text, by template or by +.
  const probe = join(mkdtempSync(join(tmpdir(), 'sql-scan-')), 'probe.ts');
  writeFileSync(
    probe,
    'db.query(`SELECT * FROM t WHERE id = ${id}`);\ndb.query("SELECT " + col + " FROM t");\ndb.query(`SELECT ${OURS}`, [id]);\n',
  );
  expect(stringBuiltSql(probe)).toHaveLength(2);
});
