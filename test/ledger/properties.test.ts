// Money invariants as properties over random operation sequences on the real Postgres: the trial
// balance is zero, stored balances equal their recomputation, no user account goes below zero,
// balances equal a simple model of the accepted operations, and a key never posts twice.
import fc from 'fast-check';
import { Ledger, LedgerError } from '../../ledger';
import { useTestDatabase } from '../helpers/postgres';
import { expectLedgerConsistent } from './helpers';

const db = useTestDatabase();

type Op =
  | { kind: 'transfer'; from: number; to: number; amount: bigint; key: number }
  | { kind: 'hold'; from: number; to: number; amount: bigint; key: number }
  | { kind: 'close'; hold: number; post: boolean; partial: boolean }
  | { kind: 'reverse'; transfer: number };

const ACCOUNTS = 4; // 0..2 investors (never negative), 3 = gateway clearing (may go negative)
const amount = fc.bigInt({ min: 1n, max: 5_000n });
const account = fc.integer({ min: 0, max: ACCOUNTS - 1 });
// small range: keys repeat, sometimes with other content
const key = fc.integer({ min: 0, max: 12 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('transfer' as const), from: account, to: account, amount, key }),
  fc.record({ kind: fc.constant('hold' as const), from: account, to: account, amount, key }),
  fc.record({
    kind: fc.constant('close' as const),
    hold: fc.nat(20),
    post: fc.boolean(),
    partial: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('reverse' as const), transfer: fc.nat(20) }),
);

let run = 0;

it('keeps every invariant over random sequences of transfers, holds, closes, reversals and key reuse', async () => {
  const ledger = new Ledger(db.pool);
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
      run += 1;
      const paths = [0, 1, 2]
        .map((i) => `investor:p${run}-${i}:available`)
        .concat(`gateway:p${run}:clearing`);
      for (const [i, path] of paths.entries())
        await ledger.createAccount({ path, currency: 'CNY', allowNegative: i === 3 });
      // Model: expected posted balance and held amount per account, from the operations the ledger
      // accepted.
      const posted = paths.map(() => 0n);
      const held = paths.map(() => 0n);
      const keyContent = new Map<string, string>();
      const transfers: { id: string; from: number; to: number; amount: bigint }[] = [];
      const holds: { id: string; from: number; to: number; amount: bigint; open: boolean }[] = [];
      const seed = async (i: number) => {
        await ledger.transfer({
          idempotencyKey: `p${run}:seed:${i}`,
          from: paths[3],
          to: paths[i],
          amount: 3_000n,
          currency: 'CNY',
        });
        posted[3] -= 3_000n;
        posted[i] += 3_000n;
      };
      for (const i of [0, 1, 2]) await seed(i);

      for (const [step, o] of ops.entries()) {
        try {
          if (o.kind === 'transfer' || o.kind === 'hold') {
            if (o.from === o.to) continue;
            const idempotencyKey = `p${run}:${o.kind}:${o.key}`;
            const content = `${o.from}>${o.to}:${o.amount}`;
            const input = {
              idempotencyKey,
              from: paths[o.from],
              to: paths[o.to],
              amount: o.amount,
              currency: 'CNY',
            };
            const result =
              o.kind === 'transfer' ? await ledger.transfer(input) : await ledger.hold(input);
            const seen = keyContent.get(idempotencyKey);
            // A replay must carry the same content, and only a replay may report replayed.
            expect(result.replayed).toBe(seen !== undefined);
            if (seen !== undefined) {
              expect(seen).toBe(content);
              continue;
            }
            keyContent.set(idempotencyKey, content);
            if (o.kind === 'transfer') {
              posted[o.from] -= o.amount;
              posted[o.to] += o.amount;
              transfers.push({
                id: result.transactionId,
                from: o.from,
                to: o.to,
                amount: o.amount,
              });
            } else {
              held[o.from] += o.amount;
              holds.push({
                id: result.transactionId,
                from: o.from,
                to: o.to,
                amount: o.amount,
                open: true,
              });
            }
          } else if (o.kind === 'close') {
            const h = holds[o.hold % Math.max(holds.length, 1)];
            if (!h) continue;
            const part = o.partial ? (h.amount + 1n) / 2n : h.amount;
            const idempotencyKey = `p${run}:close:${step}`;
            if (o.post) await ledger.postPending({ idempotencyKey, pendingId: h.id, amount: part });
            else await ledger.voidPending({ idempotencyKey, pendingId: h.id });
            expect(h.open).toBe(true);
            h.open = false;
            held[h.from] -= h.amount;
            if (o.post) {
              posted[h.from] -= part;
              posted[h.to] += part;
            }
          } else {
            const t = transfers[o.transfer % Math.max(transfers.length, 1)];
            if (!t) continue;
            await ledger.reverse({
              idempotencyKey: `p${run}:reverse:${step}`,
              transactionId: t.id,
            });
            transfers.splice(transfers.indexOf(t), 1);
            posted[t.from] += t.amount;
            posted[t.to] -= t.amount;
          }
        } catch (err) {
          if (!(err instanceof LedgerError)) throw err;
          // Refusals the model predicts: overdraft of a user account, key reuse with other content,
          // closing a closed hold, reversing what went on to be spent.
          expect([
            'INSUFFICIENT_FUNDS',
            'IDEMPOTENCY_KEY_REUSED',
            'PENDING_ALREADY_CLOSED',
            'ALREADY_REVERSED',
          ]).toContain(err.code);
          if (err.code === 'PENDING_ALREADY_CLOSED') {
            const h = holds[(o as { hold: number }).hold % holds.length];
            expect(h.open).toBe(false);
          }
          if (err.code === 'IDEMPOTENCY_KEY_REUSED') {
            const o2 = o as { kind: string; key: number };
            expect(keyContent.has(`p${run}:${o2.kind}:${o2.key}`)).toBe(true);
          }
        }
      }
      for (const [i, path] of paths.entries()) {
        const b = await ledger.balance(path);
        expect({ path, posted: b.posted, held: b.pendingDebits }).toEqual({
          path,
          posted: posted[i],
          held: held[i],
        });
        if (i < 3) expect(b.available >= 0n).toBe(true);
      }
      // Every key in the database is there once, for exactly the content the model accepted.
      const { rows } = await db.pool.query(
        `SELECT count(*)::int AS n FROM ledger_transactions WHERE idempotency_key LIKE $1 AND kind IN ('posted', 'pending')`,
        [`p${run}:%`],
      );
      expect(rows[0].n).toBe(keyContent.size + 3);
    }),
    { numRuns: 40 },
  );
  await expectLedgerConsistent(db.pool);
});
