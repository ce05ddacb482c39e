// Group commit: many concurrent posts through one LedgerBatcher behave exactly like single posts.
import { Ledger, LedgerError } from '../../ledger';
import { LedgerBatcher } from '../../ledger/batcher';
import { useTestDatabase } from '../helpers/postgres';
import { expectLedgerConsistent, fundedInvestors } from './helpers';

const db = useTestDatabase({ poolSize: 8 });
let ledger: Ledger;
beforeAll(() => {
  ledger = new Ledger(db.pool);
});
afterEach(async () => {
  await expectLedgerConsistent(db.pool);
});

it('posts 600 concurrent transfers in batches: each succeeds or fails alone, nothing lost, no deadlock', async () => {
  const accounts = await fundedInvestors(
    ledger,
    Array.from({ length: 30 }, (_, i) => `batch-${i}`),
    1_000n,
  );
  await ledger.createAccount({ path: 'loan:batch:escrow', currency: 'CNY', balanceSlots: 8 });
  const batcher = new LedgerBatcher(db.pool, { maxInFlight: 4, maxBatch: 50 });
  const ops = Array.from({ length: 600 }, (_, i) => {
    const from = accounts[i % 30];
    const to = i % 3 === 0 ? 'loan:batch:escrow' : accounts[(i * 7 + 1) % 30];
    return {
      idempotencyKey: `batch:${i}`,
      from,
      to: to === from ? 'loan:batch:escrow' : to,
      amount: BigInt(1 + (i % 90)),
      currency: 'CNY',
    };
  });
  const results = await Promise.allSettled(ops.map((op) => batcher.transfer(op)));
  expect(batcher.stats.batches).toBeLessThan(600); // batching happened
  expect(batcher.stats.retries).toBe(0);
  const failures = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => (r.reason as LedgerError).code);
  expect(new Set(failures)).toEqual(new Set(failures.length ? ['INSUFFICIENT_FUNDS'] : []));
  // The ledger holds exactly the transfers that were reported posted.
  const posted = ops.filter((_, i) => results[i].status === 'fulfilled');
  const { rows } = await db.pool.query(
    `SELECT count(*)::int AS n FROM ledger_transactions WHERE idempotency_key LIKE 'batch:%'`,
  );
  expect(rows[0].n).toBe(posted.length);
  const escrow = await ledger.balance('loan:batch:escrow');
  expect(escrow.posted).toBe(
    posted.filter((o) => o.to === 'loan:batch:escrow').reduce((s, o) => s + o.amount, 0n),
  );
});

it('handles the same key twice in one batch: replay for the same content, refusal for other content', async () => {
  const [payer] = await fundedInvestors(ledger, ['batch-dup'], 1_000n);
  const batcher = new LedgerBatcher(db.pool, { maxInFlight: 1 });
  const base = {
    idempotencyKey: 'dup:1',
    from: payer,
    to: 'gateway:test:clearing',
    amount: 10n,
    currency: 'CNY',
  };
  const [a, b, c] = await Promise.allSettled([
    batcher.transfer(base),
    batcher.transfer(base),
    batcher.transfer({ ...base, amount: 11n }),
  ]);
  expect(a).toMatchObject({ status: 'fulfilled', value: { replayed: false } });
  expect(b).toMatchObject({ status: 'fulfilled', value: { replayed: true } });
  expect(c.status === 'rejected' && (c.reason as LedgerError).code).toBe('IDEMPOTENCY_KEY_REUSED');
  expect((await ledger.balance(payer)).posted).toBe(990n);
});

it('rejects invalid input before queueing, and reports a missing account for that post only', async () => {
  const [payer] = await fundedInvestors(ledger, ['batch-bad'], 100n);
  const batcher = new LedgerBatcher(db.pool, { maxInFlight: 1 });
  expect(() =>
    batcher.transfer({
      idempotencyKey: 'bad:0',
      from: payer,
      to: 'platform:fees',
      amount: -1n,
      currency: 'CNY',
    }),
  ).toThrow(LedgerError);
  const [missing, fine] = await Promise.allSettled([
    batcher.transfer({
      idempotencyKey: 'bad:1',
      from: payer,
      to: 'platform:missing',
      amount: 1n,
      currency: 'CNY',
    }),
    batcher.transfer({
      idempotencyKey: 'bad:2',
      from: payer,
      to: 'gateway:test:clearing',
      amount: 1n,
      currency: 'CNY',
    }),
  ]);
  expect(missing.status === 'rejected' && (missing.reason as LedgerError).code).toBe(
    'ACCOUNT_NOT_FOUND',
  );
  expect(fine.status).toBe('fulfilled');
});
