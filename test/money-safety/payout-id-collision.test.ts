// Issue 15, item 12(b): a scheduled payout's id names one share only.
// `{loanId}-{n}-{investorId}-{part}` made loan "pc-1" installment 2 investor "pcx" and loan "pc"
// installment 1 investor "2-pcx" the same payout, so the second run found the first's payout and
// never paid its own investor. Payout runs on a real Temporal dev server through the real gateway
// simulator.
import fc from 'fast-check';
import { Ledger } from '../../ledger';
import { ORDER_NO_PATTERN } from '../../gateway/protocol';
import { scheduledPayoutId } from '../../ids/derived';
import { preparePayoutPage } from '../../payments/payout-runs';
import { createPayout } from '../../payments/payouts';
import { payoutWorkflow } from '../../workflows';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import type { PayoutRunResult } from '../../workflows/contracts/payout-run';
import { ACCOUNT } from '../gateway/helpers';
import { useGatewayApp } from '../helpers/gateway-world';
import { expectLedgerConsistent } from '../ledger/helpers';
import {
  collectAndDistribute,
  createRepayingLoan,
  FUNDS_MINOR,
  receivedByInvestor,
} from './fixtures';
import { startPayoutRunAsJob } from '../../cli/payout-run-job';
import { workflowIds } from '../../ids/workflow-ids';
import { accountOnFile } from '../helpers/bank-accounts';

const { world, db } = useGatewayApp();

describe('scheduledPayoutId', () => {
  it('gives different shares different ids, each a payout id the table accepts (property)', () => {
    // Few letters, many dashes and digits, installments 1 and 2: the ids that collided, often.
    const id = fc.stringMatching(/^[a2-]{1,4}$/);
    const share = fc.tuple(
      id,
      fc.integer({ min: 1, max: 2 }),
      id,
      fc.constantFrom('interest' as const, 'principal' as const),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(share, {
          minLength: 50,
          maxLength: 300,
          selector: (s) => JSON.stringify(s),
        }),
        (shares) => {
          const ids = shares.map((s) => scheduledPayoutId(...s));
          expect(new Set(ids).size).toBe(shares.length);
          for (const i of ids) expect(i).toMatch(/^[A-Za-z0-9_-]{1,190}$/); // payouts_id_check
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps the ids of loans without a dash as they were (payouts already made keep their ids), and fits the longest ids', () => {
    expect(scheduledPayoutId('lc1', 3, 'lc1-inv001', 'interest')).toBe('lc1-3-lc1-inv001-interest');
    const longest = scheduledPayoutId('l-'.repeat(32), 360, 'i'.repeat(64), 'principal');
    expect(longest.length).toBeLessThanOrEqual(190);
    expect(ORDER_NO_PATTERN.test(scheduledPayoutId('pc-1', 2, 'pcx', 'interest'))).toBe(true);
  });
});

afterEach(async () => {
  await expectLedgerConsistent(db.pool);
  // Every payout the gateway executed is posted once in the ledger, and nothing else is (the
  // fixture's collections never went through the gateway, so only payouts are compared).
  const executed = world.simulator
    .truth()
    .filter((o) => o.kind === 'PAYOUT' && o.status === 'SUCCESS')
    .map((o) => `${o.orderNo}:${o.amountMinor}`)
    .sort();
  const { rows } = await db.pool.query(
    `SELECT p.order_no || ':' || p.amount_minor AS k FROM ledger_transactions t JOIN payouts p ON p.id = t.metadata->>'payoutId'
     WHERE t.idempotency_key LIKE 'payout:%:post' ORDER BY 1`,
  );
  expect(rows.map((r) => r.k).sort()).toEqual(executed);
});

it('pays both investors of a colliding pair: loan "pc-1" #2 to "pcx", and loan "pc" #1 to "2-pcx"', async () => {
  await createRepayingLoan(db.pool, {
    id: 'pc-1',
    holdings: [{ investorId: 'pcx', holdingMinor: 100_000n }],
    termMonths: 2,
    repaymentMethod: 'interest_then_principal',
  });
  await createRepayingLoan(db.pool, {
    id: 'pc',
    holdings: [{ investorId: '2-pcx', holdingMinor: 50_000n }],
    termMonths: 1,
    repaymentMethod: 'interest_then_principal',
  });
  for (const n of [1, 2]) await collectAndDistribute(db.pool, 'pc-1', n);
  await collectAndDistribute(db.pool, 'pc', 1);

  const run = async (loanId: string, installment: number) =>
    (
      await startPayoutRunAsJob(db.pool, world.env.client, {
        workflowId: workflowIds.payoutRun(loanId, installment),
        job: 'test',
        input: {
          loanId,
          installment,
          queryPolicy: { attempts: 3, initialIntervalMs: 200, maxIntervalMs: 400 },
        },
      })
    ).result() as Promise<PayoutRunResult>;
  for (const n of [1, 2])
    expect(await run('pc-1', n)).toMatchObject({ failed: 0, manualReview: 0 });
  expect(await run('pc', 1)).toMatchObject({
    payouts: 2,
    succeeded: 2,
    failed: 0,
    manualReview: 0,
  });

  // Each investor's whole share went out to their bank account: their balance is back where it
  // started.
  for (const loanId of ['pc-1', 'pc']) {
    for (const [investorId, r] of await receivedByInvestor(db.pool, loanId)) {
      expect(r.principalMinor).toBeGreaterThan(0n);
      expect((await new Ledger(db.pool).balance(`investor:${investorId}:available`)).posted).toBe(
        FUNDS_MINOR,
      );
    }
  }
  const paidTo = (
    await db.pool.query(
      `SELECT party_id, count(*)::int AS n FROM payouts
       WHERE status = 'SUCCEEDED' AND purpose <> 'verification' GROUP BY party_id ORDER BY party_id`,
    )
  ).rows;
  expect(paidTo).toEqual([
    { party_id: '2-pcx', n: 2 },
    { party_id: 'pcx', n: 3 },
  ]);
}, 90_000);

it("finds a share's payout made under its old id (a loan id with a dash, before the change) and makes no second one", async () => {
  await createRepayingLoan(db.pool, {
    id: 'pl-1',
    holdings: [{ investorId: 'ply', holdingMinor: 100_000n }],
    termMonths: 1,
    repaymentMethod: 'interest_then_principal',
  });
  await collectAndDistribute(db.pool, 'pl-1', 1);
  const {
    rows: [share],
  } = await db.pool.query(
    `SELECT interest_minor::text FROM repayment_shares WHERE loan_id = 'pl-1'`,
  );
  // As the run before this change made it: `{loanId}-{n}-{investorId}-{part}`.
  await createPayout(db.pool, {
    id: 'pl-1-1-ply-interest',
    purpose: 'scheduled',
    partyId: 'ply',
    sourceAccount: 'investor:ply:available',
    amountMinor: BigInt(share.interest_minor),
    currency: 'CNY',
    bankAccountId: await accountOnFile(db.pool, 'ply', ACCOUNT),
    run: { loanId: 'pl-1', installment: 1 },
  });
  const page = await preparePayoutPage(db.pool, 'pl-1', 1, '', 100);
  expect(page.payouts.map((p) => p.payoutId).sort()).toEqual(
    [scheduledPayoutId('pl-1', 1, 'ply', 'principal'), 'pl-1-1-ply-interest'].sort(),
  );
  expect(
    (await db.pool.query(`SELECT count(*)::int AS n FROM payouts WHERE loan_id = 'pl-1'`)).rows[0]
      .n,
  ).toBe(2);
  // Settle them so the gateway and the ledger agree after the test.
  for (const p of page.payouts) {
    expect(
      await world.env.client.workflow.execute(payoutWorkflow, {
        workflowId: workflowIds.payout(p.payoutId),
        taskQueue: TASK_QUEUE,
        args: [{ payoutId: p.payoutId, partyId: p.partyId }],
      }),
    ).toBe('SUCCEEDED');
  }
}, 60_000);
