// Phase 1: the people. A borrower and N investors with bank accounts on file, each investor with
// their own API key, and money deposited through the gateway (a collection workflow each).
import { uniform } from '../../gateway/simulator/prng';
import { formatAmount } from '../../ledger/money';
import { inParallel, sleep } from '../api';
import { Phase } from '../progress';
import type { World } from '../world';

export interface Investor {
  id: string;
  key: string;
  /** Their bank account on file, verified by its penny test before they deposit. */
  bankAccountId: string;
  /** What they will try to subscribe in the rush. */
  wantMinor: bigint;
}

export interface Cast {
  run: string;
  borrowerId: string;
  investors: Investor[];
}

export const DEPOSIT_MINOR = 200_000n; // 2,000.00 each: more than anyone asks for in the rush

const bankAccount = (i: number, name: string) => ({
  bankCode: 'ICBC',
  accountNo: `62220202${String(i).padStart(8, '0')}`,
  accountName: name,
});

export async function setUpCast(
  world: World,
  run: string,
  count: number,
  seed: string,
): Promise<Cast> {
  const { api } = world;
  const borrowerId = `${run}-borrower`;
  await api.must('POST', '/v1/borrowers', {
    body: {
      id: borrowerId,
      name: 'Borrower Co.',
      bankAccount: bankAccount(99_999_999, 'Borrower Co.'),
    },
    idempotencyKey: `${run}-borrower`,
  });

  const people = new Phase('investors', count, 'investors');
  const investors: Investor[] = [];
  await inParallel(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => {
      const id = `${run}-inv${String(i).padStart(4, '0')}`;
      await api.must('POST', '/v1/investors', {
        body: { id, name: `Investor ${i}` },
        idempotencyKey: `${id}-create`,
      });
      const { key } = await api.must<{ key: string }>('POST', '/v1/api-keys', {
        body: { role: `investor:${id}` },
      });
      const { bankAccountId } = await api.must<{ bankAccountId: string }>(
        'POST',
        `/v1/investors/${id}/bank-accounts`,
        { key, body: bankAccount(i, `Investor ${i}`), idempotencyKey: `${id}-account` },
      );
      investors.push({
        id,
        key,
        bankAccountId,
        wantMinor: 10_000n + BigInt(Math.floor(uniform(seed, 'want', String(i)) * 91)) * 1_000n,
      }); // 100.00 .. 1,000.00
      people.update(investors.length);
    },
  );
  investors.sort((a, b) => a.id.localeCompare(b.id));
  people.done(`${count} investors, each with a bank account on file and an API key of their own`);

  await collectDeposits(world, run, investors);
  return { run, borrowerId, investors };
}

/** Each investor's deposit from their verified account, through the gateway, settled. */
async function collectDeposits(world: World, run: string, investors: Investor[]): Promise<void> {
  const { api } = world;
  const count = investors.length;
  await untilAccountsVerified(world, run, count);
  const deposits = new Phase('deposits', count, 'deposits');
  await inParallel(investors, 16, async (inv) => {
    await api.must('POST', `/v1/investors/${inv.id}/deposits`, {
      key: inv.key,
      body: { amount: formatAmount(DEPOSIT_MINOR, 'CNY'), bankAccountId: inv.bankAccountId },
      idempotencyKey: `${inv.id}-deposit`,
    });
  });
  for (;;) {
    const { rows } = await world.db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM deposits WHERE investor_id LIKE $1 GROUP BY status`,
      [`${run}-%`],
    );
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const settled = (by.SUCCEEDED ?? 0) + (by.FAILED ?? 0);
    deposits.update(settled, `(${by.SUCCEEDED ?? 0} credited)`);
    if (settled >= count) break;
    await sleep(500);
  }
  deposits.done(
    `${count} × ${formatAmount(DEPOSIT_MINOR, 'CNY')} collected through the gateway and credited once each`,
  );
}

/** Waits for every investor's penny test (a 0.01 payout through the gateway) to succeed. */
async function untilAccountsVerified(world: World, run: string, count: number): Promise<void> {
  const verifying = new Phase('accounts', count, 'bank accounts verified');
  for (;;) {
    const { rows } = await world.db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM payouts
        WHERE purpose = 'verification' AND party_id LIKE $1 GROUP BY status`,
      [`${run}-%`],
    );
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    verifying.update(by.SUCCEEDED ?? 0);
    if ((by.SUCCEEDED ?? 0) >= count) break;
    if ((by.FAILED ?? 0) > 0) throw new Error(`${by.FAILED} penny tests failed`);
    await sleep(500);
  }
  verifying.done(`${count} bank accounts verified by a 0.01 penny test each`);
}
