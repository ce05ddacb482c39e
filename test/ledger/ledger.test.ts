// The ledger on the real Postgres: accounts, transactions, idempotency, two-phase transfers,
// reversals, append-only history and reads.
import { Ledger } from '../../ledger';
import { useTestDatabase } from '../helpers/postgres';
import { errorCode, expectLedgerConsistent, fundedInvestors } from './helpers';

const db = useTestDatabase();
let ledger: Ledger;
beforeAll(() => {
  ledger = new Ledger(db.pool);
});
afterEach(async () => {
  await expectLedgerConsistent(db.pool);
});

describe('accounts', () => {
  it('creates an account once and confirms an identical second create', async () => {
    const first = await ledger.createAccount({
      path: 'platform:test-acct',
      currency: 'CNY',
      allowNegative: true,
      metadata: { purpose: 'test' },
    });
    const again = await ledger.createAccount({
      path: 'platform:test-acct',
      currency: 'CNY',
      allowNegative: true,
    });
    expect(again).toBe(first);
    expect(
      await errorCode(() =>
        ledger.createAccount({ path: 'platform:test-acct', currency: 'USD', allowNegative: true }),
      ),
    ).toBe('ACCOUNT_CONFLICT');
    expect(
      await errorCode(() =>
        ledger.createAccount({ path: 'platform:test-acct', currency: 'CNY', allowNegative: false }),
      ),
    ).toBe('ACCOUNT_CONFLICT');
  });

  it('refuses bad paths, unknown currencies, and user accounts that could go negative', async () => {
    expect(
      await errorCode(() =>
        ledger.createAccount({ path: "investor:1'; DROP TABLE x;--", currency: 'CNY' }),
      ),
    ).toBe('INVALID_INPUT');
    expect(await errorCode(() => ledger.createAccount({ path: 'investor', currency: 'CNY' }))).toBe(
      'INVALID_INPUT',
    );
    expect(
      await errorCode(() =>
        ledger.createAccount({
          path: 'investor:a1:available',
          currency: 'CNY',
          allowNegative: true,
        }),
      ),
    ).toBe('INVALID_INPUT');
    await expect(
      ledger.createAccount({ path: 'platform:x', currency: 'XXX' }),
    ).rejects.toMatchObject({ code: 'CURRENCY_UNKNOWN' });
  });

  it('enforces the no-negative rule for user accounts in the database itself', async () => {
    // Bypassing the library: the table constraint refuses it.
    await expect(
      db.pool.query(
        `INSERT INTO ledger_accounts (path, currency, allow_negative) VALUES ('borrower:raw:available', 'CNY', true)`,
      ),
    ).rejects.toMatchObject({ constraint: 'user_accounts_never_negative' });
    await ledger.createAccount({ path: 'borrower:raw2:available', currency: 'CNY' });
    await expect(
      db.pool.query(
        `UPDATE ledger_balances SET posted = -1 WHERE account_id = (SELECT id FROM ledger_accounts WHERE path = 'borrower:raw2:available')`,
      ),
    ).rejects.toMatchObject({ constraint: 'ledger_balances_non_negative' });
    await expect(
      db.pool.query(
        `UPDATE ledger_accounts SET allow_negative = true WHERE path = 'borrower:raw2:available'`,
      ),
    ).rejects.toMatchObject({ code: 'LG020' });
  });
});

describe('transactions', () => {
  it('posts a multi-leg transaction and moves every balance', async () => {
    const [alice] = await fundedInvestors(ledger, ['t1-alice'], 100_000n);
    await ledger.createAccount({ path: 'loan:t1:escrow', currency: 'CNY' });
    const result = await ledger.post({
      idempotencyKey: 'subscribe:t1',
      legs: [
        { account: alice, direction: 'debit', amount: 60_000n, currency: 'CNY' },
        { account: 'loan:t1:escrow', direction: 'credit', amount: 59_000n, currency: 'CNY' },
        { account: 'platform:fees', direction: 'credit', amount: 1_000n, currency: 'CNY' },
      ],
      metadata: { workflowId: 'subscription-t1', reason: 'test' },
    });
    expect(result.replayed).toBe(false);
    expect((await ledger.balance(alice)).available).toBe(40_000n);
    expect((await ledger.balance('loan:t1:escrow')).posted).toBe(59_000n);
  });

  it('refuses an unbalanced transaction, in the library and in the database', async () => {
    const [bob] = await fundedInvestors(ledger, ['t2-bob'], 10_000n);
    expect(
      await errorCode(() =>
        ledger.post({
          idempotencyKey: 'unbalanced',
          legs: [
            { account: bob, direction: 'debit', amount: 100n, currency: 'CNY' },
            { account: 'platform:fees', direction: 'credit', amount: 99n, currency: 'CNY' },
          ],
        }),
      ),
    ).toBe('UNBALANCED');
    // Straight to the SQL function, past the library's check: the statement trigger refuses it.
    await expect(
      db.pool.query(`SELECT * FROM ledger_post('raw-unbalanced', 'h', $1, '{}')`, [
        JSON.stringify([
          { account: bob, direction: 'D', amount: '100', currency: 'CNY' },
          { account: 'platform:fees', direction: 'C', amount: '99', currency: 'CNY' },
        ]),
      ]),
    ).rejects.toMatchObject({ code: 'LG002' });
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM ledger_transactions WHERE idempotency_key IN ('unbalanced', 'raw-unbalanced')`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('refuses overdrafts, missing accounts and currency mismatches, writing nothing', async () => {
    const [carol] = await fundedInvestors(ledger, ['t3-carol'], 500n);
    const before = await db.pool.query('SELECT count(*)::int AS n FROM ledger_transactions');
    expect(
      await errorCode(() =>
        ledger.transfer({
          idempotencyKey: 'overdraft',
          from: carol,
          to: 'platform:fees',
          amount: 501n,
          currency: 'CNY',
        }),
      ),
    ).toBe('INSUFFICIENT_FUNDS');
    expect(
      await errorCode(() =>
        ledger.transfer({
          idempotencyKey: 'missing',
          from: carol,
          to: 'platform:nowhere',
          amount: 1n,
          currency: 'CNY',
        }),
      ),
    ).toBe('ACCOUNT_NOT_FOUND');
    await ledger.createAccount({ path: 'platform:usd', currency: 'USD', allowNegative: true });
    expect(
      await errorCode(() =>
        ledger.transfer({
          idempotencyKey: 'fx',
          from: carol,
          to: 'platform:usd',
          amount: 1n,
          currency: 'CNY',
        }),
      ),
    ).toBe('CURRENCY_MISMATCH');
    expect(
      await errorCode(() =>
        ledger.transfer({
          idempotencyKey: 'bad key!',
          from: carol,
          to: 'platform:fees',
          amount: 1n,
          currency: 'CNY',
        }),
      ),
    ).toBe('INVALID_INPUT');
    expect(
      await errorCode(() =>
        ledger.transfer({
          idempotencyKey: 'zero',
          from: carol,
          to: 'platform:fees',
          amount: 0n,
          currency: 'CNY',
        }),
      ),
    ).toBe('INVALID_INPUT');
    const after = await db.pool.query('SELECT count(*)::int AS n FROM ledger_transactions');
    expect(after.rows[0].n).toBe(before.rows[0].n);
    expect((await ledger.balance(carol)).posted).toBe(500n);
  });

  it('replays a repeated idempotency key and refuses it with other content', async () => {
    const [dave] = await fundedInvestors(ledger, ['t4-dave'], 1_000n);
    const input = {
      idempotencyKey: 'fee:t4',
      from: dave,
      to: 'platform:fees',
      amount: 100n,
      currency: 'CNY',
      metadata: { n: 1 },
    };
    const first = await ledger.transfer(input);
    const second = await ledger.transfer(input);
    expect(second).toEqual({ transactionId: first.transactionId, replayed: true });
    expect(await errorCode(() => ledger.transfer({ ...input, amount: 101n }))).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect(await errorCode(() => ledger.transfer({ ...input, metadata: { n: 2 } }))).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect((await ledger.balance(dave)).posted).toBe(900n);
  });
});

describe('two-phase transfers', () => {
  it('holds, then posts: held money is not spendable, and is posted once', async () => {
    const [erin] = await fundedInvestors(ledger, ['t5-erin'], 1_000n);
    await ledger.createAccount({
      path: 'gateway:test-out:clearing',
      currency: 'CNY',
      allowNegative: true,
    });
    const { transactionId: pendingId } = await ledger.hold({
      idempotencyKey: 'payout:t5',
      from: erin,
      to: 'gateway:test-out:clearing',
      amount: 700n,
      currency: 'CNY',
    });
    expect(await ledger.balance(erin)).toMatchObject({
      posted: 1_000n,
      pendingDebits: 700n,
      available: 300n,
    });
    expect(
      await errorCode(() =>
        ledger.transfer({
          idempotencyKey: 'spend-held',
          from: erin,
          to: 'platform:fees',
          amount: 301n,
          currency: 'CNY',
        }),
      ),
    ).toBe('INSUFFICIENT_FUNDS');

    await ledger.postPending({ idempotencyKey: 'payout:t5:post', pendingId });
    expect(await ledger.balance(erin)).toMatchObject({
      posted: 300n,
      pendingDebits: 0n,
      available: 300n,
    });
    expect(await ledger.balance('gateway:test-out:clearing')).toMatchObject({
      posted: 700n,
      pendingCredits: 0n,
    });
    // replay of the same post is harmless; a second close under another key is refused
    expect(
      (await ledger.postPending({ idempotencyKey: 'payout:t5:post', pendingId })).replayed,
    ).toBe(true);
    expect(
      await errorCode(() =>
        ledger.postPending({ idempotencyKey: 'payout:t5:post-again', pendingId }),
      ),
    ).toBe('PENDING_ALREADY_CLOSED');
    expect(
      await errorCode(() => ledger.voidPending({ idempotencyKey: 'payout:t5:void', pendingId })),
    ).toBe('PENDING_ALREADY_CLOSED');
  });

  it('voids a hold and releases the money', async () => {
    const [frank] = await fundedInvestors(ledger, ['t6-frank'], 1_000n);
    const { transactionId: pendingId } = await ledger.hold({
      idempotencyKey: 'payout:t6',
      from: frank,
      to: 'platform:fees',
      amount: 1_000n,
      currency: 'CNY',
    });
    expect((await ledger.balance(frank)).available).toBe(0n);
    await ledger.voidPending({
      idempotencyKey: 'payout:t6:void',
      pendingId,
      metadata: { reason: 'gateway said INVALID_ACCOUNT' },
    });
    expect(await ledger.balance(frank)).toMatchObject({
      posted: 1_000n,
      pendingDebits: 0n,
      available: 1_000n,
    });
    expect(
      await errorCode(() => ledger.postPending({ idempotencyKey: 'payout:t6:post', pendingId })),
    ).toBe('PENDING_ALREADY_CLOSED');
  });

  it('posts part of a hold and releases the rest', async () => {
    const [grace] = await fundedInvestors(ledger, ['t7-grace'], 1_000n);
    const { transactionId: pendingId } = await ledger.hold({
      idempotencyKey: 'hold:t7',
      from: grace,
      to: 'platform:fees',
      amount: 800n,
      currency: 'CNY',
    });
    expect(
      await errorCode(() =>
        ledger.postPending({ idempotencyKey: 'hold:t7:over', pendingId, amount: 801n }),
      ),
    ).toBe('PENDING_AMOUNT_INVALID');
    await ledger.postPending({ idempotencyKey: 'hold:t7:post', pendingId, amount: 500n });
    expect(await ledger.balance(grace)).toMatchObject({
      posted: 500n,
      pendingDebits: 0n,
      available: 500n,
    });
  });

  it('cannot post an expired hold; expirePending voids it', async () => {
    const [heidi] = await fundedInvestors(ledger, ['t8-heidi'], 1_000n);
    const expiresAt = new Date('2030-01-01T00:00:00Z');
    const { transactionId: pendingId } = await ledger.hold({
      idempotencyKey: 'hold:t8',
      from: heidi,
      to: 'platform:fees',
      amount: 400n,
      currency: 'CNY',
      expiresAt,
    });
    const later = new Date('2030-01-01T00:00:01Z');
    expect(
      await errorCode(() =>
        ledger.postPending({ idempotencyKey: 'hold:t8:post', pendingId }, later),
      ),
    ).toBe('PENDING_EXPIRED');
    expect(await ledger.expirePending(new Date('2029-12-31T23:59:59Z'))).toBe(0);
    expect(await ledger.expirePending(later)).toBeGreaterThanOrEqual(1);
    expect((await ledger.balance(heidi)).available).toBe(1_000n);
    expect(await ledger.expirePending(later)).toBe(0);
  });

  it('refuses to close something that is not a pending transfer', async () => {
    const [ivan] = await fundedInvestors(ledger, ['t9-ivan'], 10n);
    const { transactionId } = await ledger.transfer({
      idempotencyKey: 'plain:t9',
      from: ivan,
      to: 'platform:fees',
      amount: 1n,
      currency: 'CNY',
    });
    expect(
      await errorCode(() =>
        ledger.postPending({ idempotencyKey: 'plain:t9:post', pendingId: transactionId }),
      ),
    ).toBe('PENDING_NOT_FOUND');
    expect(
      await errorCode(() =>
        ledger.voidPending({ idempotencyKey: 'x:void', pendingId: '999999999' }),
      ),
    ).toBe('PENDING_NOT_FOUND');
  });
});

describe('reversals and append-only history', () => {
  it('reverses a transaction once, with a linked transaction', async () => {
    const [judy] = await fundedInvestors(ledger, ['t10-judy'], 1_000n);
    const { transactionId } = await ledger.transfer({
      idempotencyKey: 'fee:t10',
      from: judy,
      to: 'platform:fees',
      amount: 250n,
      currency: 'CNY',
    });
    const reversal = await ledger.reverse({
      idempotencyKey: 'fee:t10:reverse',
      transactionId,
      metadata: { reason: 'charged in error' },
    });
    expect((await ledger.balance(judy)).posted).toBe(1_000n);
    const { rows } = await db.pool.query(
      'SELECT reverses_id::text FROM ledger_transactions WHERE id = $1',
      [reversal.transactionId],
    );
    expect(rows[0].reverses_id).toBe(transactionId);
    expect(
      await errorCode(() => ledger.reverse({ idempotencyKey: 'fee:t10:reverse-2', transactionId })),
    ).toBe('ALREADY_REVERSED');
  });

  it('refuses UPDATE, DELETE and TRUNCATE on postings and transactions', async () => {
    await fundedInvestors(ledger, ['t11-kim'], 10n);
    for (const sql of [
      'UPDATE ledger_postings SET amount = amount + 1',
      'DELETE FROM ledger_postings',
      'TRUNCATE ledger_postings CASCADE',
      `UPDATE ledger_transactions SET metadata = '{"edited": true}'`,
      'DELETE FROM ledger_transactions',
    ]) {
      await expect(db.pool.query(sql)).rejects.toMatchObject({ code: 'LG020' });
    }
  });
});

describe('reads', () => {
  it('pages a statement with a running balance', async () => {
    const [leo] = await fundedInvestors(ledger, ['t12-leo'], 1_000n);
    for (let i = 1; i <= 5; i++) {
      await ledger.transfer({
        idempotencyKey: `fee:t12:${i}`,
        from: leo,
        to: 'platform:fees',
        amount: BigInt(i * 10),
        currency: 'CNY',
      });
    }
    const first = await ledger.statement(leo, { limit: 4 });
    expect(first.entries.map((e) => e.balanceAfter)).toEqual([1_000n, 990n, 970n, 940n]);
    expect(first.entries[1]).toMatchObject({ direction: 'debit', amount: 10n, kind: 'posted' });
    const second = await ledger.statement(leo, { limit: 4, after: first.nextCursor ?? undefined });
    expect(second.entries.map((e) => e.balanceAfter)).toEqual([900n, 850n]);
    expect(second.nextCursor).toBeNull();
    expect(await errorCode(() => ledger.statement(leo, { after: '1 OR 1=1' }))).toBe(
      'INVALID_INPUT',
    );
  });

  it('verify() reports drift when a stored balance disagrees with its postings', async () => {
    const [mia] = await fundedInvestors(ledger, ['t13-mia'], 1_000n);
    await db.pool.query(
      `UPDATE ledger_balances SET posted = posted + 1 WHERE account_id = (SELECT id FROM ledger_accounts WHERE path = $1)`,
      [mia],
    );
    const report = await ledger.verify();
    expect(report.clean).toBe(false);
    expect(report.drifts).toEqual([
      { account: mia, field: 'posted', stored: 1_001n, recomputed: 1_000n },
    ]);
    expect((await ledger.trialBalance()).balanced).toBe(false);
    await db.pool.query(
      `UPDATE ledger_balances SET posted = posted - 1 WHERE account_id = (SELECT id FROM ledger_accounts WHERE path = $1)`,
      [mia],
    );
  });
});
