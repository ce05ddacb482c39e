// Bank accounts on file (issue 16, items 1 and 5), on the real stack: the API, the Payout
// workflow's penny test on a real Temporal dev server and the real gateway simulator. Deposits and
// withdrawals use only a verified account of the same party, withdrawals wait out the cooling-off,
// and the number is sealed at rest, masked in the listing, and readable after a key rotation. An
// operator's add or removal waits for a second operator, the held number sealed.
import { randomBytes } from 'node:crypto';
import { buildApp } from '../../api/app';
import { Ledger } from '../../ledger';
import {
  BankAccountKeyring,
  DEVELOPMENT_BANK_ACCOUNT_KEYS,
  useBankAccountKeyring,
} from '../../payments/bank-account-crypto';
import { openBankAccount, verificationPayoutId } from '../../payments/bank-accounts';
import { getDeposit } from '../../payments/deposits';
import { ADMIN_KEY, operatorHeaders, useTestApi } from '../api/helpers';
import { heldApproval, verdict } from '../helpers/approvals';
import { addBankAccount, addVerifiedBankAccount, runPennyTest } from '../helpers/bank-accounts';
import { GatewayWorld } from '../helpers/gateway-world';
import { useTestDatabase } from '../helpers/postgres';
import { fundInvestor, unreachableGateway } from '../helpers/stack';
import { createActivities } from '../../activities';
import { getPayout, voidPayout } from '../../payments/payouts';
import { expectLedgerConsistent } from '../ledger/helpers';

const world = new GatewayWorld();
afterAll(() => world.stop());
const db = useTestDatabase();
const api = useTestApi(db);

const ACCOUNT_NO = '6222020200114455';
const account = { bankCode: 'ICBC', accountNo: ACCOUNT_NO, accountName: 'Ann Investor' };
let ann: string;
let bob: string;

beforeAll(async () => {
  await world.start(db);
  ann = `Bearer ${await api.partyKey('investor', 'ba-ann')}`;
  bob = `Bearer ${await api.partyKey('investor', 'ba-bob')}`;
  await fundInvestor(db, 'ba-ann', 1_000_000n);
});

afterEach(async () => {
  await world.reset();
  await expectLedgerConsistent(db.pool);
});

const list = async (partyId: string, authorization: string) =>
  api.app.inject({
    method: 'GET',
    url: `/v1/investors/${partyId}/bank-accounts`,
    headers: { authorization },
  });

/** What a refused request must not have written. */
async function written() {
  const { rows } = await db.pool.query(
    `SELECT (SELECT count(*) FROM deposits)::int AS deposits, (SELECT count(*) FROM payouts)::int AS payouts,
            (SELECT count(*) FROM ledger_transactions)::int AS transactions,
            (SELECT count(*) FROM outbox)::int AS outbox`,
  );
  return rows[0];
}

const post = (url: string, authorization: string, payload: object) =>
  api.app.inject({
    method: 'POST',
    url,
    headers: { authorization, 'idempotency-key': `k-${randomBytes(6).toString('hex')}` },
    payload,
  });

it('adds an account VERIFYING, verifies it by a penny test, and lists it masked', async () => {
  const id = await addBankAccount(api.app, { partyId: 'ba-ann', authorization: ann, account });
  const before = await list('ba-ann', ann);
  expect(before.statusCode).toBe(200);
  expect(before.json()).toEqual([
    {
      bankAccountId: id,
      bankCode: 'ICBC',
      accountNoMasked: '6222********4455',
      accountName: 'Ann Investor',
      status: 'VERIFYING',
      verifiedAt: null,
    },
  ]);
  expect(await runPennyTest(world.env.client, db, { partyId: 'ba-ann', bankAccountId: id })).toBe(
    'SUCCEEDED',
  );
  const after = (await list('ba-ann', ann)).json();
  expect(after[0]).toMatchObject({ bankAccountId: id, status: 'VERIFIED' });
  expect(typeof after[0].verifiedAt).toBe('string');
  // The penny went to this account, paid by the platform's expense account.
  const penny = world.simulator.truth().find((o) => o.orderNo === `verify-${id}`);
  expect(penny).toMatchObject({ status: 'SUCCESS', account: { accountNo: ACCOUNT_NO } });
  const spent = await new Ledger(db.pool).balance('platform:bank-verification');
  expect(spent.posted).toBe(-1n);
  // The addition is audited.
  const audit = await db.pool.query(
    `SELECT actor FROM audit_log WHERE action = 'bank_account.added' AND details->>'bankAccountId' = $1`,
    [id],
  );
  expect(audit.rows).toHaveLength(1);
});

it('marks the account FAILED when the penny test definitely fails', async () => {
  const id = await addBankAccount(api.app, { partyId: 'ba-bob', authorization: bob, account });
  world.fault('fail:INVALID_ACCOUNT');
  expect(await runPennyTest(world.env.client, db, { partyId: 'ba-bob', bankAccountId: id })).toBe(
    'FAILED',
  );
  const listed = (await list('ba-bob', bob)).json();
  expect(listed.find((a: { bankAccountId: string }) => a.bankAccountId === id).status).toBe(
    'FAILED',
  );
});

it('keeps the number sealed at rest: nowhere in clear in the database', async () => {
  const { rows } = await db.pool.query(
    `SELECT (SELECT count(*) FROM bank_accounts b WHERE row_to_json(b)::text LIKE $1)::int AS accounts,
            (SELECT count(*) FROM payouts p WHERE row_to_json(p)::text LIKE $1)::int AS payouts,
            (SELECT count(*) FROM audit_log a WHERE row_to_json(a)::text LIKE $1)::int AS audit,
            (SELECT count(*) FROM bank_accounts)::int AS total`,
    [`%${ACCOUNT_NO.slice(4, 12)}%`],
  );
  expect(rows[0]).toEqual({ accounts: 0, payouts: 0, audit: 0, total: 2 });
});

it('refuses an unverified account, another party’s account, and writes nothing', async () => {
  const unverified = await addBankAccount(api.app, {
    partyId: 'ba-ann',
    authorization: ann,
    account: { ...account, accountNo: '6222999900001111' },
  });
  const [annVerified] = (await list('ba-ann', ann))
    .json()
    .filter((a: { status: string }) => a.status === 'VERIFIED')
    .map((a: { bankAccountId: string }) => a.bankAccountId);
  const before = await written();
  for (const kind of ['deposits', 'withdrawals']) {
    const u = await post(`/v1/investors/ba-ann/${kind}`, ann, {
      amount: '1.00',
      bankAccountId: unverified,
    });
    expect([u.statusCode, u.json().error.code]).toEqual([409, 'BANK_ACCOUNT_NOT_VERIFIED']);
    // Bob names Ann's verified account for his own money.
    const o = await post(`/v1/investors/ba-bob/${kind}`, bob, {
      amount: '1.00',
      bankAccountId: annVerified,
    });
    expect([o.statusCode, o.json().error.code]).toEqual([404, 'BANK_ACCOUNT_NOT_FOUND']);
    const raw = await post(`/v1/investors/ba-ann/${kind}`, ann, { amount: '1.00', account });
    expect(raw.statusCode).toBe(400);
  }
  expect(await written()).toEqual(before);
  // Nor may Bob list or add to Ann's accounts.
  expect((await list('ba-ann', bob)).statusCode).toBe(404);
  expect((await post('/v1/investors/ba-ann/bank-accounts', bob, account)).statusCode).toBe(404);
});

it('collects a deposit from, and pays a withdrawal to, the verified account, by id only', async () => {
  const listed = (await list('ba-ann', ann)).json();
  const verified = listed.find((a: { status: string }) => a.status === 'VERIFIED').bankAccountId;
  const dep = await post('/v1/investors/ba-ann/deposits', ann, {
    amount: '5.00',
    bankAccountId: verified,
  });
  expect(dep.statusCode).toBe(202);
  const deposit = await getDeposit(db.pool, dep.json().depositId);
  expect(deposit?.bankAccount.accountNo).toBe(ACCOUNT_NO);
  const row = await db.pool.query(
    'SELECT bank_account, bank_account_id FROM deposits WHERE id = $1',
    [dep.json().depositId],
  );
  expect(row.rows[0]).toEqual({ bank_account: null, bank_account_id: verified });
  const wd = await post('/v1/investors/ba-ann/withdrawals', ann, {
    amount: '2.00',
    bankAccountId: verified,
  });
  expect(wd.statusCode).toBe(202);
  // Settle both through their workflows so nothing stays held or pending for afterEach.
  const { OutboxDispatcher } = await import('../../worker/outbox-dispatcher');
  await new OutboxDispatcher(db.pool, world.env.client).drainOnce();
  await world.env.client.workflow.getHandle(dep.json().workflowId).result();
  await world.env.client.workflow.getHandle(wd.json().workflowId).result();
  const paid = world.simulator.truth().find((o) => o.orderNo === wd.json().payoutId);
  expect(paid).toMatchObject({ status: 'SUCCESS', account: { accountNo: ACCOUNT_NO } });
});

it('holds withdrawals for the cooling-off period after an account is added', async () => {
  const cooling = await buildApp({
    pool: db.pool,
    adminApiKey: ADMIN_KEY,
    bankAccountCoolingOffSeconds: 3600,
  });
  try {
    const id = await addVerifiedBankAccount(cooling, world.env.client, db, {
      partyId: 'ba-ann',
      authorization: ann,
      account: { ...account, accountNo: '6222777700002222' },
    });
    const before = await written();
    const res = await cooling.inject({
      method: 'POST',
      url: '/v1/investors/ba-ann/withdrawals',
      headers: { authorization: ann, 'idempotency-key': 'cooling-1' },
      payload: { amount: '1.00', bankAccountId: id },
    });
    expect([res.statusCode, res.json().error.code]).toEqual([409, 'BANK_ACCOUNT_COOLING_OFF']);
    const { until } = res.json().error.details;
    expect(Date.parse(until) - Date.now()).toBeGreaterThan(3_500_000);
    expect(await written()).toEqual(before);
    // Each held attempt is on record, with until when: the owner's alert, not only a refusal.
    const { rows } = await db.pool.query(
      `SELECT actor, details FROM audit_log WHERE action = 'withdrawal.held_cooling_off' AND subject = 'ba-ann'`,
    );
    expect(rows).toEqual([
      { actor: expect.stringMatching(/^investor:/), details: { bankAccountId: id, until } },
    ]);
  } finally {
    await cooling.close();
  }
});

it('changes an account: the old one taken off file is listed REMOVED, used for nothing new, audited, and removing it again changes nothing', async () => {
  const oldId = await addVerifiedBankAccount(api.app, world.env.client, db, {
    partyId: 'ba-ann',
    authorization: ann,
    account: { ...account, accountNo: '6222888800003333' },
  });
  const remove = (authorization: string, id = oldId) =>
    api.app.inject({
      method: 'DELETE',
      url: `/v1/investors/ba-ann/bank-accounts/${id}`,
      headers: { authorization, 'idempotency-key': `rm-${randomBytes(6).toString('hex')}` },
    });
  // another party's key cannot remove it, nor learn it exists
  expect((await remove(bob)).statusCode).toBe(404);
  const removed = await remove(ann);
  expect([removed.statusCode, removed.json()]).toEqual([
    200,
    { bankAccountId: oldId, status: 'REMOVED' },
  ]);
  expect((await list('ba-ann', ann)).json()).toEqual(
    expect.arrayContaining([expect.objectContaining({ bankAccountId: oldId, status: 'REMOVED' })]),
  );
  const before = await written();
  for (const [url, amount] of [
    ['/v1/investors/ba-ann/withdrawals', '1.00'],
    ['/v1/investors/ba-ann/deposits', '1.00'],
  ]) {
    const res = await post(url, ann, { amount, bankAccountId: oldId });
    expect([res.statusCode, res.json().error.code]).toEqual([409, 'BANK_ACCOUNT_REMOVED']);
  }
  expect(await written()).toEqual(before);
  expect((await remove(ann)).json()).toEqual({ bankAccountId: oldId, status: 'REMOVED' });
  const { rows } = await db.pool.query(
    `SELECT actor FROM audit_log WHERE action = 'bank_account.removed' AND details->>'bankAccountId' = $1`,
    [oldId],
  );
  expect(rows).toEqual([{ actor: expect.stringMatching(/^investor:/) }]);
  // taken off file for good, whoever writes
  await expect(
    db.pool.query('UPDATE bank_accounts SET removed_at = NULL WHERE id = $1', [oldId]),
  ).rejects.toThrow(/removed already/);
  expect((await remove(ann, 'ba_00000000000000000000')).statusCode).toBe(404);
});

it('reads rows sealed under an old key after a new current key is added', async () => {
  const oldId = (await list('ba-ann', ann)).json()[0].bankAccountId;
  const newKey = `k2:${randomBytes(32).toString('base64')}`;
  try {
    useBankAccountKeyring(BankAccountKeyring.parse(`${newKey},${DEVELOPMENT_BANK_ACCOUNT_KEYS}`));
    expect((await openBankAccount(db.pool, oldId)).accountNo).toBe(ACCOUNT_NO);
    const newId = await addBankAccount(api.app, {
      partyId: 'ba-ann',
      authorization: ann,
      account: { ...account, accountNo: '6222555500003333' },
    });
    const { rows } = await db.pool.query('SELECT key_id FROM bank_accounts WHERE id = $1', [newId]);
    expect(rows[0].key_id).toBe('k2');
    expect((await openBankAccount(db.pool, newId)).accountNo).toBe('6222555500003333');
    // Without the old key, its rows say so rather than read as something else.
    useBankAccountKeyring(BankAccountKeyring.parse(newKey));
    await expect(openBankAccount(db.pool, oldId)).rejects.toThrow(/key dev1 is not configured/);
    // Leave nothing held: the new account's penny test runs under the new key.
    useBankAccountKeyring(BankAccountKeyring.parse(`${newKey},${DEVELOPMENT_BANK_ACCOUNT_KEYS}`));
    expect(
      await runPennyTest(world.env.client, db, { partyId: 'ba-ann', bankAccountId: newId }),
    ).toBe('SUCCEEDED');
  } finally {
    useBankAccountKeyring(undefined);
  }
});

it("pays a borrower's disbursement to their verified account on file", async () => {
  const borrower = `Bearer ${await api.partyKey('borrower', 'ba-bor')}`;
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const created = await api.app.inject({
    method: 'POST',
    url: '/v1/loans',
    headers: { ...admin, 'idempotency-key': 'ba-loan' },
    payload: {
      id: 'ba-loan',
      borrowerId: 'ba-bor',
      principal: '100.00',
      annualRate: '0.10',
      termMonths: 3,
      repaymentMethod: 'equal_installment',
      subscriptionDeadline: new Date(Date.now() + 3_600_000).toISOString(),
    },
  });
  expect(created.statusCode).toBe(201);
  const id = await addVerifiedBankAccount(api.app, world.env.client, db, {
    kind: 'borrower',
    partyId: 'ba-bor',
    authorization: borrower,
    account: { ...account, accountNo: '6222888800004444', accountName: 'Borrower Co.' },
  });
  // The disbursed money, as the loan's disbursement would leave it.
  await new Ledger(db.pool).transfer({
    idempotencyKey: 'test-disbursed:ba-bor',
    from: 'gateway:default:clearing',
    to: 'borrower:ba-bor:available',
    amount: 5_000n,
    currency: 'CNY',
  });
  const activities = createActivities({
    pool: db.pool,
    temporal: world.env.client,
    gateway: unreachableGateway(),
  });
  // Inside the cooling-off the account just added redirects nothing: with no other account on file
  // and none given at creation, the disbursed money stays in the borrower's balance.
  const cooling = createActivities({
    pool: db.pool,
    temporal: world.env.client,
    gateway: unreachableGateway(),
    bankAccountCoolingOffSeconds: 3600,
  });
  expect(await cooling.requestDisbursementPayout('ba-loan', '5000')).toBeNull();
  const payoutId = await activities.requestDisbursementPayout('ba-loan', '5000');
  const payout = await getPayout(db.pool, payoutId as string);
  expect(payout).toMatchObject({
    bankAccountId: id,
    bankAccount: { accountNo: '6222888800004444' },
  });
  const { rows } = await db.pool.query('SELECT bank_account FROM payouts WHERE id = $1', [
    payoutId,
  ]);
  expect(rows[0].bank_account).toBeNull();
  await voidPayout(db.pool, payout!, { test: 'not sent' });
});

it("holds an operator's add for a second operator: approved by another holder, the account is VERIFYING with its penny test, and the number is never in clear in the approval", async () => {
  const owner = `Bearer ${await api.partyKey('investor', 'ba-held')}`;
  const number = '6222777700009876';
  const held = await post(
    '/v1/investors/ba-held/bank-accounts',
    (await operatorHeaders(api.app)).authorization,
    {
      ...account,
      accountNo: number,
    },
  );
  const approval = heldApproval(held);
  expect(approval).toMatchObject({ action: 'bank_account.add', status: 'pending' });
  expect((await list('ba-held', owner)).json()).toEqual([]);
  const { rows: stored } = await db.pool.query(
    `SELECT row_to_json(a)::text AS json FROM approvals a WHERE id = $1`,
    [approval.id],
  );
  expect(stored[0].json).not.toContain(number);
  expect(stored[0].json).toContain('6222********9876');
  const approved = await verdict(api.app, approval.id, 'approve');
  expect(approved.statusCode).toBe(200);
  const { bankAccountId } = approved.json().result;
  expect(approved.json().result).toEqual({ bankAccountId, status: 'VERIFYING' });
  expect((await list('ba-held', owner)).json()).toEqual([
    expect.objectContaining({
      bankAccountId,
      status: 'VERIFYING',
      accountNoMasked: '6222********9876',
    }),
  ]);
  expect(await getPayout(db.pool, verificationPayoutId(bankAccountId))).toMatchObject({
    amountMinor: 1n,
  });
  expect((await openBankAccount(db.pool, bankAccountId)).accountNo).toBe(number);
  const { rows: audit } = await db.pool.query(
    `SELECT count(*)::int AS n FROM audit_log a WHERE row_to_json(a)::text LIKE $1`,
    [`%${number}%`],
  );
  expect(audit[0].n).toBe(0);
  // The owner's own add is not held.
  const own = await post('/v1/investors/ba-held/bank-accounts', owner, {
    ...account,
    accountNo: '6222777700005555',
  });
  expect(own.statusCode).toBe(201);
});

it("holds an operator's removal for a second operator, carried out when approved", async () => {
  const owner = `Bearer ${await api.partyKey('investor', 'ba-rm')}`;
  const id = await addBankAccount(api.app, { partyId: 'ba-rm', authorization: owner, account });
  const remove = (authorization: string) =>
    api.app.inject({
      method: 'DELETE',
      url: `/v1/investors/ba-rm/bank-accounts/${id}`,
      headers: { authorization, 'idempotency-key': `rm-${randomBytes(6).toString('hex')}` },
    });
  const approval = heldApproval(await remove((await operatorHeaders(api.app)).authorization));
  expect(approval).toMatchObject({ action: 'bank_account.remove' });
  expect((await list('ba-rm', owner)).json()[0].status).not.toBe('REMOVED');
  const approved = await verdict(api.app, approval.id, 'approve');
  expect(approved.json().result).toEqual({ bankAccountId: id, status: 'REMOVED' });
  expect((await list('ba-rm', owner)).json()[0].status).toBe('REMOVED');
});

it('never keeps or shows a short number whole: at most half its digits, and the first four only from 12 up', async () => {
  const cy = `Bearer ${await api.partyKey('investor', 'ba-cy')}`;
  const cases: [string, string][] = [
    ['123456', '***456'],
    ['12345678', '****5678'],
    ['123456789', '*****6789'],
    ['12345678901', '*******8901'],
    ['123456789012', '1234****9012'],
  ];
  for (const [accountNo] of cases)
    await addBankAccount(api.app, {
      partyId: 'ba-cy',
      authorization: cy,
      account: { ...account, accountNo },
    });
  const listed = (await list('ba-cy', cy)).json() as { accountNoMasked: string }[];
  expect(listed.map((a) => a.accountNoMasked)).toEqual(cases.map(([, masked]) => masked));
  // at rest: nothing in clear but those digits
  const { rows } = await db.pool.query(
    `SELECT account_no_first4 || account_no_last4 AS clear, account_no_length AS n
       FROM bank_accounts WHERE party_id = 'ba-cy' ORDER BY created_at, id`,
  );
  for (const r of rows) expect(r.clear.length * 2).toBeLessThanOrEqual(Math.max(r.n, 16));
  expect(rows.map((r) => r.clear)).toEqual(['456', '5678', '6789', '8901', '12349012']);
});
