// Many writers at once on the real Postgres: nothing lost, no deadlock, no overdraft, no double
// post.
import { Ledger, LedgerError } from '../../ledger';
import { writeStats } from '../../ledger/transactions';
import { useTestDatabase } from '../helpers/postgres';
import { expectLedgerConsistent, fundedInvestors } from './helpers';

const db = useTestDatabase({ poolSize: 32 });
let ledger: Ledger;
beforeAll(() => {
  ledger = new Ledger(db.pool);
});
afterEach(async () => {
  await expectLedgerConsistent(db.pool);
  // Ordered locking means Postgres never had to break a deadlock (which the writer would retry).
  expect(writeStats.retries).toBe(0);
});

async function settle<T>(tasks: (() => Promise<T>)[]) {
  const results = await Promise.allSettled(tasks.map((t) => t()));
  const rejected = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason as Error);
  const fulfilled = results
    .filter((r): r is PromiseFulfilledResult<Awaited<T>> => r.status === 'fulfilled')
    .map((r) => r.value);
  return { fulfilled, rejected };
}

describe.each([1, 16])(
  '200 concurrent transfers into one hot account with %i balance slot(s)',
  (slots) => {
    it('loses nothing and never deadlocks', async () => {
      const senders = await fundedInvestors(
        ledger,
        Array.from({ length: 200 }, (_, i) => `hot${slots}-${i}`),
        10_000n,
      );
      const hot = `loan:hot${slots}:escrow`;
      await ledger.createAccount({ path: hot, currency: 'CNY', balanceSlots: slots });
      const { fulfilled, rejected } = await settle(
        senders.map(
          (from, i) => () =>
            ledger.transfer({
              idempotencyKey: `hot${slots}:${i}`,
              from,
              to: hot,
              amount: BigInt(i + 1),
              currency: 'CNY',
            }),
        ),
      );
      expect(rejected).toEqual([]);
      expect(fulfilled).toHaveLength(200);
      expect((await ledger.balance(hot)).posted).toBe((200n * 201n) / 2n);
    });
  },
);

it('posts once when the same idempotency key arrives 50 times at once', async () => {
  const [payer] = await fundedInvestors(ledger, ['same-key'], 1_000n);
  const { fulfilled, rejected } = await settle(
    Array.from(
      { length: 50 },
      () => () =>
        ledger.transfer({
          idempotencyKey: 'same-key:1',
          from: payer,
          to: 'gateway:test:clearing',
          amount: 100n,
          currency: 'CNY',
        }),
    ),
  );
  expect(rejected).toEqual([]);
  expect(fulfilled.filter((r) => !r.replayed)).toHaveLength(1);
  expect(new Set(fulfilled.map((r) => r.transactionId)).size).toBe(1);
  expect((await ledger.balance(payer)).posted).toBe(900n);
});

it('never drives an account below zero in an overdraft race', async () => {
  const [payer] = await fundedInvestors(ledger, ['race'], 1_000n);
  const { fulfilled, rejected } = await settle(
    Array.from(
      { length: 60 },
      (_, i) => () =>
        i % 2 === 0
          ? ledger.transfer({
              idempotencyKey: `race:${i}`,
              from: payer,
              to: 'gateway:test:clearing',
              amount: 100n,
              currency: 'CNY',
            })
          : ledger.hold({
              idempotencyKey: `race:${i}`,
              from: payer,
              to: 'gateway:test:clearing',
              amount: 100n,
              currency: 'CNY',
            }),
    ),
  );
  expect(fulfilled).toHaveLength(10);
  expect(rejected.map((e) => (e as LedgerError).code)).toEqual(
    Array(50).fill('INSUFFICIENT_FUNDS'),
  );
  expect((await ledger.balance(payer)).available).toBe(0n);
});

it('keeps a multi-slot no-negative account at or above zero while credits and debits race', async () => {
  const escrow = 'loan:race-slots:escrow';
  await ledger.createAccount({ path: escrow, currency: 'CNY', balanceSlots: 8 });
  const payers = await fundedInvestors(
    ledger,
    Array.from({ length: 100 }, (_, i) => `slots-${i}`),
    100n,
  );
  const { fulfilled, rejected } = await settle(
    Array.from(
      { length: 200 },
      (_, i) => () =>
        i % 2 === 0
          ? ledger.transfer({
              idempotencyKey: `slots:in:${i}`,
              from: payers[i / 2],
              to: escrow,
              amount: 100n,
              currency: 'CNY',
            })
          : ledger
              .transfer({
                idempotencyKey: `slots:out:${i}`,
                from: escrow,
                to: 'platform:race-out',
                amount: 150n,
                currency: 'CNY',
              })
              .catch(async (err: LedgerError) => {
                if (err.code !== 'ACCOUNT_NOT_FOUND') throw err;
                await ledger.createAccount({
                  path: 'platform:race-out',
                  currency: 'CNY',
                  allowNegative: true,
                });
                return ledger.transfer({
                  idempotencyKey: `slots:out:${i}`,
                  from: escrow,
                  to: 'platform:race-out',
                  amount: 150n,
                  currency: 'CNY',
                });
              }),
    ),
  );
  expect(rejected.every((e) => (e as LedgerError).code === 'INSUFFICIENT_FUNDS')).toBe(true);
  const debits = fulfilled.length - 100;
  const escrowBalance = await ledger.balance(escrow);
  expect(escrowBalance.posted).toBe(100n * 100n - BigInt(debits) * 150n);
  expect(escrowBalance.posted >= 0n).toBe(true);
  const { rows } = await db.pool.query(
    `SELECT min(posted)::text AS low FROM ledger_balances WHERE account_id = (SELECT id FROM ledger_accounts WHERE path = $1)`,
    [escrow],
  );
  expect(BigInt(rows[0].low) >= 0n).toBe(true);
});

it('does not deadlock when transfers cross between the same accounts in both directions', async () => {
  const accounts = await fundedInvestors(ledger, ['cross-a', 'cross-b', 'cross-c'], 1_000_000n);
  const { rejected } = await settle(
    Array.from({ length: 300 }, (_, i) => () => {
      const from = accounts[i % 3];
      const to = accounts[(i + 1 + (i % 2)) % 3];
      return ledger.post({
        idempotencyKey: `cross:${i}`,
        legs: [
          { account: from, direction: 'debit', amount: 7n, currency: 'CNY' },
          { account: to, direction: 'credit', amount: 5n, currency: 'CNY' },
          {
            account: accounts[(i + 2) % 3] === from ? to : accounts[(i + 2) % 3],
            direction: 'credit',
            amount: 2n,
            currency: 'CNY',
          },
        ],
      });
    }),
  );
  expect(rejected).toEqual([]);
  const total = (await Promise.all(accounts.map((a) => ledger.balance(a)))).reduce(
    (s, b) => s + b.posted,
    0n,
  );
  expect(total).toBe(3_000_000n);
});
