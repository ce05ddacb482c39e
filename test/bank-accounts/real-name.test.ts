// The penny test proves ownership (issue 16 item 1): it is sent with the party's name on file as
// the payee, and the bank's real-name check (the simulator's registry of account holders) fails a
// payout to an account held by someone else with ACCOUNT_NAME_MISMATCH, a definitive failure.
import { randomBytes } from 'node:crypto';
import { verificationPayoutId } from '../../payments/bank-accounts';
import { getPayout } from '../../payments/payouts';
import { useTestApi } from '../api/helpers';
import { addBankAccount, runPennyTest } from '../helpers/bank-accounts';
import { GatewayWorld } from '../helpers/gateway-world';
import { useTestDatabase } from '../helpers/postgres';
import { expectLedgerConsistent } from '../ledger/helpers';
import { simulatorControl } from '../reconciliation/helpers';

const world = new GatewayWorld();
afterAll(() => world.stop());
const db = useTestDatabase();
const api = useTestApi(db);

const VICTIM_NO = '6222040400119901';
const OWN_NO = '6222040400119902';
let alice: string;

beforeAll(async () => {
  await world.start(db);
  alice = `Bearer ${await api.partyKey('investor', 'rn-a')}`;
  await api.partyKey('investor', 'rn-b');
  // The banks' records: who holds each account (partyKey names a party `investor <id>`).
  await simulatorControl(world, '/_sim/account-holders', {
    bankCode: 'ICBC',
    accountNo: VICTIM_NO,
    holderName: 'investor rn-b',
  });
  await simulatorControl(world, '/_sim/account-holders', {
    bankCode: 'ICBC',
    accountNo: OWN_NO,
    holderName: 'investor rn-a',
  });
});
afterEach(() => expectLedgerConsistent(db.pool));

const status = async (bankAccountId: string) =>
  (
    await api.app.inject({
      method: 'GET',
      url: '/v1/investors/rn-a/bank-accounts',
      headers: { authorization: alice },
    })
  )
    .json()
    .find((a: { bankAccountId: string }) => a.bankAccountId === bankAccountId).status;

it("fails the penny test of another holder's account, whatever name is typed with it", async () => {
  const id = await addBankAccount(api.app, {
    partyId: 'rn-a',
    authorization: alice,
    // The victim's number and name, as someone who knows them would type them.
    account: { bankCode: 'ICBC', accountNo: VICTIM_NO, accountName: 'investor rn-b' },
  });
  expect(await runPennyTest(world.env.client, db, { partyId: 'rn-a', bankAccountId: id })).toBe(
    'FAILED',
  );
  const penny = await getPayout(db.pool, verificationPayoutId(id));
  expect(penny?.status).toBe('FAILED');
  const sent = world.simulator.truth().find((o) => o.orderNo === penny?.orderNo);
  expect(sent).toMatchObject({
    status: 'FAILED',
    code: 'ACCOUNT_NAME_MISMATCH',
    account: { accountNo: VICTIM_NO, accountName: 'investor rn-a' },
  });
  expect(sent?.executedAt).toBeUndefined();
  expect(await status(id)).toBe('FAILED');
  // The hold was voided: nothing of the platform's 0.01 is pending or gone.
  const { rows } = await db.pool.query(
    `SELECT count(*)::int AS n FROM ledger_transactions WHERE idempotency_key = $1`,
    [`payout:${verificationPayoutId(id)}:void`],
  );
  expect(rows[0].n).toBe(1);
  const deposit = await api.app.inject({
    method: 'POST',
    url: '/v1/investors/rn-a/deposits',
    headers: { authorization: alice, 'idempotency-key': `d-${randomBytes(6).toString('hex')}` },
    payload: { amount: '10.00', bankAccountId: id },
  });
  expect([deposit.statusCode, deposit.json().error.code]).toEqual([
    409,
    'BANK_ACCOUNT_NOT_VERIFIED',
  ]);
});

it('verifies an account its holder adds, the payee being the name on file', async () => {
  const id = await addBankAccount(api.app, {
    partyId: 'rn-a',
    authorization: alice,
    account: { bankCode: 'ICBC', accountNo: OWN_NO, accountName: 'A. Alice' },
  });
  expect(await runPennyTest(world.env.client, db, { partyId: 'rn-a', bankAccountId: id })).toBe(
    'SUCCEEDED',
  );
  expect(await status(id)).toBe('VERIFIED');
});
