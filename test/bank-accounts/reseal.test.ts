// No account number in clear at rest, and key rotation closed (issue 16 items 5 and 12): new rows
// may not hold a number in clear (migration 0033); `ops bank-accounts reseal` seals every account
// under the current key and clears the legacy numbers, so the old key can be dropped and every
// account still opens and is paid.
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { BankAccountKeyring, useBankAccountKeyring } from '../../payments/bank-account-crypto';
import { openBankAccount } from '../../payments/bank-accounts';
import { createDeposit } from '../../payments/deposits';
import { createPayout } from '../../payments/payouts';
import { workflowIds } from '../../ids/workflow-ids';
import { payoutWorkflow } from '../../workflows';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import { useTestApi } from '../api/helpers';
import {
  addVerifiedBankAccount,
  putVerifiedAccountOnFile,
  runPennyTest,
} from '../helpers/bank-accounts';
import { processDatabaseUrl } from '../helpers/processes';
import { createPool, inTransaction } from '../../db/pool';
import { resealBatch } from '../../payments/bank-account-reseal';
import { GatewayWorld } from '../helpers/gateway-world';
import { runOpsAt } from '../helpers/ops';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';

const world = new GatewayWorld();
const db = useTestDatabase();
const api = useTestApi(db);
let apiUrl: string;

const KEY_A = `A:${randomBytes(32).toString('base64')}`;
const KEY_B = `B:${randomBytes(32).toString('base64')}`;
const useKeys = (spec: string) => useBankAccountKeyring(BankAccountKeyring.parse(spec));

const ANN = { bankCode: 'ICBC', accountNo: '6222050500113344', accountName: 'Ann' };
const OTHER = { bankCode: 'ABC', accountNo: '6228060600115566', accountName: 'Ann' };
const LEGACY = { bankCode: 'CCB', accountNo: '6217070700117788', accountName: 'Leo' };
const LEGACY_TABLES = [
  'parties',
  'payouts',
  'deposits',
  'repayment_collections',
  'recovery_collections',
];

beforeAll(async () => {
  useKeys(KEY_A);
  await world.start(db);
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  apiUrl = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  useBankAccountKeyring(undefined);
  await world.stop();
});
afterEach(() => expectLedgerConsistent(db.pool));

/** A row as one written before accounts were on file: the number in clear, no account named. */
async function makeLegacy(table: string, where: string, id: string, account: object) {
  await db.pool.query(`ALTER TABLE ${table} DISABLE TRIGGER ${table}_no_clear_account_number`);
  try {
    await db.pool.query(
      `UPDATE ${table} SET bank_account = $2${table === 'parties' ? '' : ', bank_account_id = NULL'}
        WHERE ${where} = $1`,
      [id, JSON.stringify(account)],
    );
  } finally {
    await db.pool.query(`ALTER TABLE ${table} ENABLE TRIGGER ${table}_no_clear_account_number`);
  }
}

it('refuses a new number in clear in any table', async () => {
  await expect(
    db.pool.query(
      `INSERT INTO parties (id, kind, name, bank_account) VALUES ('rs-x', 'investor', 'X', $1)`,
      [JSON.stringify(LEGACY)],
    ),
  ).rejects.toThrow(/parties.bank_account takes no account number in clear/);
  for (const table of LEGACY_TABLES.slice(1)) {
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM pg_trigger
        WHERE tgname = $1 AND tgrelid = $2::regclass AND tgenabled = 'O'`,
      [`${table}_no_clear_account_number`, table],
    );
    expect([table, rows[0].n]).toEqual([table, 1]);
  }
});

it('reseals under the new key, clears legacy numbers, and the old key can go', async () => {
  const ann = `Bearer ${await api.partyKey('investor', 'rs-ann')}`;
  await fundInvestor(db, 'rs-ann', 100_000n);
  const onFile = await addVerifiedBankAccount(api.app, world.env.client, db, {
    partyId: 'rs-ann',
    authorization: ann,
    account: ANN,
  });
  // Legacy rows: a payout to Ann's number, a deposit from another of hers, a party's number.
  await createPayout(db.pool, {
    id: 'rs-po',
    purpose: 'withdrawal',
    partyId: 'rs-ann',
    sourceAccount: 'investor:rs-ann:available',
    amountMinor: 2_500n,
    currency: 'CNY',
    bankAccountId: onFile,
  });
  await createDeposit(db.pool, {
    id: 'rs-dep',
    investorId: 'rs-ann',
    amountMinor: 1_000n,
    currency: 'CNY',
    bankAccountId: onFile,
  });
  await db.pool.query('DELETE FROM outbox');
  await makeLegacy('payouts', 'id', 'rs-po', ANN);
  await makeLegacy('deposits', 'id', 'rs-dep', OTHER);
  await api.partyKey('investor', 'rs-leo');
  await makeLegacy('parties', 'id', 'rs-leo', LEGACY);
  // A new value in a legacy row is refused too.
  await expect(
    db.pool.query(`UPDATE parties SET bank_account = $1 WHERE id = 'rs-leo'`, [
      JSON.stringify(ANN),
    ]),
  ).rejects.toThrow(/takes no account number in clear/);

  // Rotation: B is current, A still read.
  useKeys(`${KEY_B},${KEY_A}`);
  const run = await runOpsAt(apiUrl, 'bank-accounts', 'reseal', '--batch', '1');
  expect(run).toMatchObject({ code: 0, err: '' });
  expect(run.out).toMatch(
    /^batch 1: resealed 1, parties filed 1, orders cleared 1, remaining \d+$/m,
  );
  expect(run.out).toMatch(/^batch 2: .*remaining 0$/m);
  expect(run.out).toMatch(/^done: resealed 1, parties filed 1, orders cleared 2$/m);
  const { rows: keys } = await db.pool.query('SELECT DISTINCT key_id FROM bank_accounts');
  expect(keys).toEqual([{ key_id: 'B' }]);
  for (const table of LEGACY_TABLES) {
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM ${table} WHERE bank_account IS NOT NULL`,
    );
    expect([table, rows[0].n]).toEqual([table, 0]);
  }
  // History keeps which account: the payout names Ann's account on file; the deposit's other
  // number is kept as a removed account of hers (never usable, not listed).
  const { rows: named } = await db.pool.query(
    `SELECT (SELECT bank_account_id FROM payouts WHERE id = 'rs-po') AS payout,
            (SELECT bank_account_id FROM deposits WHERE id = 'rs-dep') AS deposit`,
  );
  expect(named[0].payout).toBe(onFile);
  expect((await openBankAccount(db.pool, named[0].deposit)).accountNo).toBe(OTHER.accountNo);
  const { rows: kept } = await db.pool.query(
    'SELECT party_id, removed_at FROM bank_accounts WHERE id = $1',
    [named[0].deposit],
  );
  expect(kept[0]).toMatchObject({ party_id: 'rs-ann', removed_at: expect.any(Date) });
  // Leo's number is on file, sealed, its penny test asked for, no cooling-off started.
  const { rows: leo } = await db.pool.query(
    `SELECT b.id, b.created_at = p.created_at AS since_party FROM bank_accounts b
       JOIN parties p ON p.id = b.party_id WHERE b.party_id = 'rs-leo'`,
  );
  expect(leo).toEqual([{ id: expect.stringMatching(/^ba_/), since_party: true }]);
  const { rows: audit } = await db.pool.query(
    `SELECT count(*)::int AS n FROM audit_log WHERE action = 'bank_accounts.resealed'`,
  );
  expect(audit[0].n).toBe(2);
  // Again: nothing to do.
  expect((await runOpsAt(apiUrl, 'bank-accounts', 'reseal')).out).toBe(
    'done: resealed 0, parties filed 0, orders cleared 0',
  );

  // The old key dropped: every account opens, and payouts still go out.
  useKeys(KEY_B);
  const { rows: all } = await db.pool.query('SELECT id FROM bank_accounts');
  for (const r of all) await expect(openBankAccount(db.pool, r.id)).resolves.toBeDefined();
  const handle = await world.env.client.workflow.start(payoutWorkflow, {
    workflowId: workflowIds.payout('rs-po'),
    taskQueue: TASK_QUEUE,
    args: [
      {
        payoutId: 'rs-po',
        partyId: 'rs-ann',
        queryPolicy: { attempts: 3, initialIntervalMs: 200, maxIntervalMs: 400 },
      },
    ],
  });
  expect(await handle.result()).toBe('SUCCEEDED');
  const { rows: po } = await db.pool.query(`SELECT order_no FROM payouts WHERE id = 'rs-po'`);
  expect(world.simulator.truth().find((o) => o.orderNo === po[0].order_no)).toMatchObject({
    status: 'SUCCESS',
    account: { accountNo: ANN.accountNo },
  });
  expect(
    await runPennyTest(world.env.client, db, { partyId: 'rs-leo', bankAccountId: leo[0].id }),
  ).toBe('SUCCEEDED');
});

it('runs as the application role, with its grants only', async () => {
  useKeys(KEY_A);
  await api.partyKey('investor', 'rs-app');
  await putVerifiedAccountOnFile(db.pool, 'rs-app', ANN);
  await makeLegacy('parties', 'id', 'rs-app', OTHER);
  useKeys(`${KEY_B},${KEY_A}`);
  const app = createPool({ connectionString: processDatabaseUrl(db), max: 1 });
  try {
    const batch = await inTransaction(app, (tx) =>
      resealBatch(tx, { limit: 10, actor: 'test:app-role' }),
    );
    expect(batch).toEqual({ resealed: 1, partiesFiled: 1, ordersCleared: 0, remaining: 0 });
  } finally {
    await app.end();
  }
  await db.pool.query(`DELETE FROM outbox`);
});
