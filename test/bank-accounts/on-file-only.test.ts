// Money moves only by a verified account on file (issue 16 items 1 and 5): a bank account given
// when a party is created is put on file (sealed, penny test), never kept in `parties`; a
// disbursement waits in the borrower's balance (audited) until one is verified; a repayment is
// collected from the verified account on file, named by id, opened when it is sent.
import { createActivities } from '../../activities';
import { openCollection } from '../../loans/repayments';
import { verificationPayoutId } from '../../payments/bank-accounts';
import { getPayout, voidPayout } from '../../payments/payouts';
import { ADMIN_KEY, useTestApi } from '../api/helpers';
import { clientFor } from '../gateway/helpers';
import { runPennyTest } from '../helpers/bank-accounts';
import { GatewayWorld } from '../helpers/gateway-world';
import { useTestDatabase } from '../helpers/postgres';
import { unreachableGateway } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import { Ledger } from '../../ledger';

const world = new GatewayWorld();
afterAll(() => world.stop());
const db = useTestDatabase();
const api = useTestApi(db);
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

const ACCOUNT_NO = '6222030300117788';
const account = { bankCode: 'ICBC', accountNo: ACCOUNT_NO, accountName: 'Borrower Co.' };

beforeAll(() => world.start(db));
afterEach(() => expectLedgerConsistent(db.pool));

async function createLoan(id: string, borrowerId: string) {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/loans',
    headers: { ...admin, 'idempotency-key': `loan-${id}` },
    payload: {
      id,
      borrowerId,
      principal: '100.00',
      annualRate: '0.10',
      termMonths: 3,
      repaymentMethod: 'equal_installment',
      subscriptionDeadline: new Date(Date.now() + 3_600_000).toISOString(),
    },
  });
  expect(res.statusCode).toBe(201);
}

it('puts the creation-time bankAccount on file sealed; a disbursement waits for its penny test', async () => {
  const created = await api.app.inject({
    method: 'POST',
    url: '/v1/borrowers',
    headers: { ...admin, 'idempotency-key': 'of-bor' },
    payload: { id: 'of-bor', name: 'Borrower Co.', bankAccount: account },
  });
  expect(created.statusCode).toBe(201);
  const { bankAccountId } = created.json();
  expect(created.json()).toEqual({ id: 'of-bor', bankAccountId: expect.stringMatching(/^ba_/) });
  // No number in parties; the one on file is sealed, its penny test asked for.
  const { rows } = await db.pool.query(
    `SELECT p.bank_account, b.account_no_ciphertext, b.account_no_last4, v.status
       FROM parties p JOIN bank_accounts b ON b.party_id = p.id
       JOIN payouts v ON v.bank_account_id = b.id AND v.purpose = 'verification' WHERE p.id = $1`,
    ['of-bor'],
  );
  expect(rows).toEqual([
    {
      bank_account: null,
      account_no_ciphertext: expect.not.stringContaining(ACCOUNT_NO),
      account_no_last4: '7788',
      status: 'HELD',
    },
  ]);

  await createLoan('of-loan', 'of-bor');
  await new Ledger(db.pool).transfer({
    idempotencyKey: 'test-disbursed:of-bor',
    from: 'gateway:default:clearing',
    to: 'borrower:of-bor:available',
    amount: 9_900n,
    currency: 'CNY',
  });
  const activities = createActivities({
    pool: db.pool,
    temporal: world.env.client,
    gateway: unreachableGateway(),
  });
  // Unverified: nothing is paid (no fallback to the number given), and it is on record.
  expect(await activities.requestDisbursementPayout('of-loan', '9900')).toBeNull();
  expect(await activities.requestDisbursementPayout('of-loan', '9900')).toBeNull();
  expect(await getPayout(db.pool, 'disb-of-loan')).toBeUndefined();
  const audit = await db.pool.query(
    `SELECT reason, details FROM audit_log WHERE action = 'disbursement.kept_in_balance' AND subject = $1`,
    ['of-bor'],
  );
  expect(audit.rows).toEqual([
    {
      reason: 'NO_VERIFIED_BANK_ACCOUNT',
      details: { loanId: 'of-loan', amountMinor: '9900', currency: 'CNY' },
    },
  ]);

  // Once verified, the disbursement goes to it, named by id.
  expect(await runPennyTest(world.env.client, db, { partyId: 'of-bor', bankAccountId })).toBe(
    'SUCCEEDED',
  );
  expect(world.simulator.truth().map((o) => o.orderNo)).toContain(
    (await getPayout(db.pool, verificationPayoutId(bankAccountId)))!.orderNo,
  );
  const payoutId = await activities.requestDisbursementPayout('of-loan', '9900');
  const payout = await getPayout(db.pool, payoutId as string);
  expect(payout).toMatchObject({ bankAccountId, bankAccount: { accountNo: ACCOUNT_NO } });
  await voidPayout(db.pool, payout!, { test: 'not sent' });
});

it("collects a repayment from the borrower's verified account on file, by id", async () => {
  const activities = createActivities({
    pool: db.pool,
    temporal: world.env.client,
    gateway: clientFor(world.simulator.url),
  });
  const collection = await openCollection(db.pool, 'of-loan', 1, 1);
  const { rows } = await db.pool.query(
    'SELECT bank_account, bank_account_id FROM repayment_collections WHERE order_no = $1',
    [collection.orderNo],
  );
  const onFile = (await db.pool.query(`SELECT id FROM bank_accounts WHERE party_id = 'of-bor'`))
    .rows[0].id;
  expect(rows).toEqual([{ bank_account: null, bank_account_id: onFile }]);
  const outcome = await activities.submitRepaymentCollection(collection.orderNo);
  expect(outcome.kind).toBe('succeeded');
  const sent = world.simulator.truth().find((o) => o.orderNo === collection.orderNo);
  expect(sent).toMatchObject({ kind: 'COLLECTION', account: { accountNo: ACCOUNT_NO } });
});

it('a borrower with no verified account: the collection is never sent (NO_BANK_ACCOUNT)', async () => {
  await api.partyKey('borrower', 'of-none');
  await createLoan('of-none-loan', 'of-none');
  const activities = createActivities({
    pool: db.pool,
    temporal: world.env.client,
    gateway: unreachableGateway(),
  });
  const collection = await openCollection(db.pool, 'of-none-loan', 1, 1);
  expect(collection).toMatchObject({ bankAccount: null, bankAccountId: null });
  expect(await activities.submitRepaymentCollection(collection.orderNo)).toEqual({
    kind: 'failed',
    code: 'NO_BANK_ACCOUNT',
  });
});
