// The seeded workload, drawn up front (so its shape is the seed's, whatever the timing): investors
// depositing through the gateway; a rush on a loan, more money than it takes, with cancels racing
// it; the loan's calendar compressed to seconds (the borrower pays through the gateway, some
// installments late when the gateway refuses a collection); every installment's payout run started
// twice at the same moment, and the last also as a separate "maturity" run, as in the incident.
import { formatAmount, parseAmount } from '../ledger/money';
import type { PayoutRunInput } from '../workflows/contracts/payout-run';
import { inParallel } from '../demo/api';
import type { Prng } from './prng';
import { until, type Investor, type RunState } from './world';
import { startPayoutRunAsJob } from '../cli/payout-run-job';
import { workflowIds } from '../ids/workflow-ids';
import { apiErrorFromResponse } from '../api/errors';

export interface WorkloadPlan {
  investors: number;
  depositMinor: bigint[];
  /** What each investor asks for in the rush. */
  wantMinor: bigint[];
  /** Investors who cancel their reservation while the rush goes on. */
  cancels: number[];
  months: number;
  monthSeconds: number;
  repaymentMethod: 'equal_installment' | 'interest_then_principal';
}

export function drawWorkload(rng: Prng): WorkloadPlan {
  const investors = rng.int(5, 9);
  const ids = Array.from({ length: investors }, (_, i) => i);
  return {
    investors,
    depositMinor: ids.map(() => rng.minor(150_000n, 300_000n, 1_000n)),
    wantMinor: ids.map(() => rng.minor(20_000n, 100_000n, 1_000n)),
    cancels: rng.some(ids, 0.25),
    months: rng.int(2, 3),
    monthSeconds: rng.int(14, 20),
    repaymentMethod: rng.pick(['equal_installment', 'interest_then_principal'] as const),
  };
}

const bankAccount = (i: number, name: string) => ({
  bankCode: 'ICBC',
  accountNo: `62220202${String(i).padStart(8, '0')}`,
  accountName: name,
});

/** The borrower, the investors with a bank account and key each, and their deposits, settled. */
export async function depositPhase(state: RunState, plan: WorkloadPlan): Promise<string> {
  const { api } = state.stack;
  const borrowerId = `${state.runId}-bor`;
  // The borrower's account is penny-tested under the run's faults like the investors': until it
  // is verified, no disbursement goes out and no installment can be collected.
  await api.must('POST', '/v1/borrowers', {
    body: { id: borrowerId, name: 'Borrower Co.' },
    idempotencyKey: `${borrowerId}-create`,
  });
  const borrower: OnFile = {
    id: borrowerId,
    key: (
      await api.must<{ key: string }>('POST', '/v1/api-keys', {
        body: { role: `borrower:${borrowerId}` },
      })
    ).key,
    bankAccountId: null,
    path: 'borrowers',
    account: bankAccount(99_999_999, 'Borrower Co.'),
  };
  for (let i = 0; i < plan.investors; i++) {
    const id = `${state.runId}-inv${i}`;
    // Their accounts are added (and penny-tested) by the workload's rounds, not at creation.
    await api.must('POST', '/v1/investors', {
      body: { id, name: `Investor ${i}` },
      idempotencyKey: `${id}-create`,
    });
    const { key } = await api.must<{ key: string }>('POST', '/v1/api-keys', {
      body: { role: `investor:${id}` },
    });
    state.investors.push({ id, key, bankAccountId: null });
  }
  await verifyAccounts(state, [
    borrower,
    ...state.investors.map((inv, i): OnFile => {
      const onFile = Object.assign(inv, {
        path: 'investors' as const,
        account: bankAccount(i, inv.id),
      });
      return onFile;
    }),
  ]);
  if (borrower.bankAccountId === null) state.say(`  ${borrowerId}: no verified account`);
  await inParallel(state.investors, 4, async (inv, i) => {
    if (inv.bankAccountId === null)
      return state.say(`  ${inv.id}: no verified account, no deposit`);
    await api.must('POST', `/v1/investors/${inv.id}/deposits`, {
      key: inv.key,
      body: {
        amount: formatAmount(plan.depositMinor[i], 'CNY'),
        bankAccountId: inv.bankAccountId,
      },
      idempotencyKey: `${inv.id}-dep0`,
    });
  });
  await settledDeposits(state, 240_000);
  return borrowerId;
}

/** A party whose account the workload puts on file with its own key. */
type OnFile = Investor & {
  path: 'investors' | 'borrowers';
  account: ReturnType<typeof bankAccount>;
};

/**
 * Each party's bank account on file, verified by its penny test (a payout under the run's
 * faults): an account whose test failed is added again, at most three times.
 */
async function verifyAccounts(state: RunState, parties: OnFile[]): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const pending = new Map<string, OnFile>();
    for (const party of parties) {
      if (party.bankAccountId !== null) continue;
      const { bankAccountId } = await state.stack.api.must<{ bankAccountId: string }>(
        'POST',
        `/v1/${party.path}/${party.id}/bank-accounts`,
        { key: party.key, body: party.account, idempotencyKey: `${party.id}-ba${round}` },
      );
      pending.set(bankAccountId, party);
    }
    if (pending.size === 0) return;
    const settled = await until(
      state,
      'the penny tests to settle',
      async () => {
        const { rows } = await state.stack.db.query<{ id: string; status: string }>(
          `SELECT bank_account_id AS id, status FROM payouts
            WHERE purpose = 'verification' AND bank_account_id = ANY($1)`,
          [[...pending.keys()]],
        );
        return rows.every((r) => r.status === 'SUCCEEDED' || r.status === 'FAILED')
          ? rows
          : undefined;
      },
      240_000,
      2_000,
    );
    for (const r of settled) {
      const inv = pending.get(r.id);
      if (inv && r.status === 'SUCCEEDED') inv.bankAccountId = r.id;
    }
  }
}

/**
 * Every deposit SUCCEEDED, FAILED or waiting for an operator (MANUAL_REVIEW: the schedule's
 * operators decide it).
 */
export async function settledDeposits(state: RunState, timeoutMs: number): Promise<void> {
  await until(
    state,
    'the deposits to settle',
    async () => {
      const { rows } = await state.stack.db.query<{ open: number }>(
        `SELECT count(*)::int AS open FROM deposits WHERE status = 'PENDING'`,
      );
      state.say(`  deposits: ${rows[0].open} still open`);
      return rows[0].open === 0 ? true : undefined;
    },
    timeoutMs,
    2_000,
  );
}

async function available(state: RunState, inv: Investor): Promise<bigint> {
  const b = await state.stack.api.must<{ available: string }>(
    'GET',
    `/v1/investors/${inv.id}/balance`,
    { key: inv.key },
  );
  return parseAmount(b.available, 'CNY', { allowZero: true });
}

/**
 * The rush: a loan of about three quarters of what the investors ask for (capped by what they
 * hold), every investor at once, cancels racing the subscriptions; then whoever still has money
 * takes what remains, so the loan fills exactly (or the run says why it could not).
 */
export async function rushPhase(
  state: RunState,
  plan: WorkloadPlan,
  borrowerId: string,
  k: number,
): Promise<string | undefined> {
  const { asks, demand, principalMinor } = await sizeLoan(state, plan);
  if (principalMinor < 10_000n) {
    state.say(
      `  the investors hold too little for another loan (demand ${formatAmount(demand, 'CNY')})`,
    );
    return undefined;
  }
  const loanId = `${state.runId}-loan${k}`;
  await openLoan(state, plan, { loanId, borrowerId, principalMinor, demand });
  const cancelledIds = await subscribeAtOnce(state, plan, loanId, asks, k);
  await cancelsSettled(state, loanId, cancelledIds);
  await fillWhatRemains(state, loanId, k);
  return loanId;
}

/** What each investor asks for (capped by what they hold), and the loan that demand makes. */
async function sizeLoan(
  state: RunState,
  plan: WorkloadPlan,
): Promise<{ asks: bigint[]; demand: bigint; principalMinor: bigint }> {
  const balances = await Promise.all(state.investors.map((inv) => available(state, inv)));
  const asks = state.investors.map((_, i) =>
    plan.wantMinor[i] < balances[i] ? plan.wantMinor[i] : balances[i],
  );
  const demand = asks.reduce((a, b) => a + b, 0n);
  const principalMinor = ((demand * 3n) / 4n / 10_000n) * 10_000n;
  return { asks, demand, principalMinor };
}

async function openLoan(
  state: RunState,
  plan: WorkloadPlan,
  loan: { loanId: string; borrowerId: string; principalMinor: bigint; demand: bigint },
): Promise<void> {
  const { loanId, borrowerId, principalMinor, demand } = loan;
  await state.stack.api.must('POST', '/v1/loans', {
    idempotencyKey: `${loanId}-create`,
    body: {
      id: loanId,
      borrowerId,
      principal: formatAmount(principalMinor, 'CNY'),
      annualRate: '0.12',
      termMonths: plan.months,
      repaymentMethod: plan.repaymentMethod,
      subscriptionDeadline: new Date(Date.now() + 20 * 60_000).toISOString(),
      feeRate: '0.01',
      interestFeeRate: '0.1',
      installmentIntervalSeconds: plan.monthSeconds,
    },
  });
  state.loanIds.push(loanId);
  state.say(
    `  loan ${loanId}: ${formatAmount(principalMinor, 'CNY')}, ${plan.months} months of ${plan.monthSeconds} s (${plan.repaymentMethod}); demand ${formatAmount(demand, 'CNY')}`,
  );
}

/**
 * Every investor subscribes at once, and the planned cancels follow their own reservation while
 * the others still arrive. Returns the subscriptions cancelled.
 */
async function subscribeAtOnce(
  state: RunState,
  plan: WorkloadPlan,
  loanId: string,
  asks: bigint[],
  k: number,
): Promise<string[]> {
  const { api } = state.stack;
  const subscriptionOf = new Map<number, string>();
  let loanFull = 0;
  const cancelledIds: string[] = [];
  await inParallel(
    state.investors.map((inv, i) => ({ inv, i })),
    16,
    async ({ inv, i }) => {
      if (asks[i] <= 0n) return;
      const res = await api.call<{ subscriptionId?: string; error?: { code: string } }>(
        'POST',
        `/v1/loans/${loanId}/subscriptions`,
        {
          key: inv.key,
          body: { investorId: inv.id, amount: formatAmount(asks[i], 'CNY') },
          idempotencyKey: `${inv.id}-l${k}-sub`,
        },
      );
      if (res.status === 201 && res.body.subscriptionId)
        subscriptionOf.set(i, res.body.subscriptionId);
      else if (res.body.error?.code === 'LOAN_FULL') loanFull += 1;
      if (plan.cancels.includes(i) && res.body.subscriptionId) {
        const c = await api.call('POST', `/v1/subscriptions/${res.body.subscriptionId}/cancel`, {
          key: inv.key,
          idempotencyKey: `${inv.id}-l${k}-cancel`,
        });
        if (c.status < 300) cancelledIds.push(res.body.subscriptionId);
      }
    },
  );
  state.say(
    `  rush: ${subscriptionOf.size} reserved, ${loanFull} LOAN_FULL, ${cancelledIds.length} cancelled during the rush`,
  );
  return cancelledIds;
}

/**
 * A cancel gives the room back when its workflow has run: wait for that before filling the rest.
 */
async function cancelsSettled(
  state: RunState,
  loanId: string,
  cancelledIds: string[],
): Promise<void> {
  await until(
    state,
    'the cancels to settle',
    async () => {
      const { rows } = await state.stack.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM subscriptions WHERE loan_id = $1 AND id = ANY($2) AND status <> 'CANCELLED'`,
        [loanId, cancelledIds],
      );
      return rows[0].n === 0 ? true : undefined;
    },
    60_000,
    500,
  ).catch((err: Error) => state.say(`  ${err.message}: filling what is free now`));
}

/**
 * Fill what the cancels and refusals left, investor by investor (bounded: one try each, three
 * rounds), until the loan is full or no longer open.
 */
async function fillWhatRemains(state: RunState, loanId: string, k: number): Promise<void> {
  const { api } = state.stack;
  for (let round = 0; round < 3; round++) {
    for (const inv of state.investors) {
      const loan = await api.must<{ status: string; remaining: string }>(
        'GET',
        `/v1/loans/${loanId}`,
      );
      const remaining = parseAmount(loan.remaining, 'CNY', { allowZero: true });
      if (loan.status !== 'OPEN' || remaining === 0n) return;
      const free = await available(state, inv);
      const take = free < remaining ? free : remaining;
      if (take <= 0n) continue;
      await api.call('POST', `/v1/loans/${loanId}/subscriptions`, {
        key: inv.key,
        body: { investorId: inv.id, amount: formatAmount(take, 'CNY') },
        idempotencyKey: `${inv.id}-l${k}-fill${round}`,
      });
    }
  }
}

interface Installment {
  n: number;
  status: string;
}

/**
 * The calendar: waits for the loan to be REPAYING and then CLOSED; each installment, once
 * distributed, gets its payout run started twice at the same moment (and the last one a
 * "maturity" run besides). Operators and faults act meanwhile, from the chaos schedule.
 */
export async function calendarPhase(
  state: RunState,
  loanId: string,
  plan: WorkloadPlan,
): Promise<string> {
  const { api } = state.stack;
  const started = new Set<number>();
  let lastLine = '';
  const budgetMs = (plan.months * plan.monthSeconds + 240) * 1_000;
  return until(
    state,
    `loan ${loanId} to close`,
    async () => {
      const loan = await api.must<{ status: string; schedule: Installment[] }>(
        'GET',
        `/v1/loans/${loanId}`,
      );
      const line = `  loan ${loanId}: ${loan.status}; ${loan.schedule.map((i) => `${i.n}:${i.status}`).join(' ')}`;
      if (line !== lastLine) state.say(line);
      lastLine = line;
      for (const inst of loan.schedule) {
        if (started.has(inst.n) || !['DISTRIBUTED', 'PAID_OUT'].includes(inst.status)) continue;
        started.add(inst.n);
        await overlappingRuns(state, loanId, inst.n, inst.n === plan.months);
      }
      return ['CLOSED', 'EXPIRED', 'DEFAULTED', 'CHARGED_OFF'].includes(loan.status)
        ? loan.status
        : undefined;
    },
    budgetMs,
    1_000,
  );
}

/**
 * A payout run started by hand through the API, approved by the second operator (maker-checker):
 * both requests of a pair are one approval, approved twice by the same key.
 */
async function startRunByHand(state: RunState, loanId: string, n: number): Promise<unknown> {
  const { api } = state.stack;
  const held = await api.call('POST', '/v1/payout-runs', {
    key: state.operatorKey,
    body: { loanId, installment: n },
  });
  const res = await api.approvedBy(state.checkerKey, held);
  if (res.status >= 300)
    throw apiErrorFromResponse(res.status, res.body, `approving the payout run of ${loanId}/${n}`);
  return res.body;
}

/** Two runs of one installment at once through the API, and the maturity run beside them. */
export async function overlappingRuns(
  state: RunState,
  loanId: string,
  n: number,
  maturity: boolean,
): Promise<void> {
  const input: PayoutRunInput = { loanId, installment: n };
  const runs: Promise<unknown>[] = [
    startRunByHand(state, loanId, n),
    startRunByHand(state, loanId, n),
  ];
  if (maturity)
    runs.push(
      startPayoutRunAsJob(state.stack.db, state.stack.temporal, {
        workflowId: `${workflowIds.payoutRun(loanId, n)}-maturity`,
        input,
        job: 'maturity',
      }),
    );
  const results = await Promise.allSettled(runs);
  const failed = results
    .filter((r) => r.status === 'rejected')
    .map((r) => String((r as PromiseRejectedResult).reason).slice(0, 200));
  state.say(
    `  installment ${n}: ${runs.length} payout runs started at once${failed.length ? ` (${failed.length} refused: ${failed.join('; ')})` : ''}`,
  );
}

/**
 * A withdrawal of part of what an investor has (a refusal for lack of money is an answer, not an
 * error).
 */
export async function withdraw(
  state: RunState,
  inv: Investor,
  fraction: number,
  tag: string,
): Promise<string> {
  const free = await available(state, inv);
  const amount = (free * BigInt(Math.round(fraction * 100))) / 100n;
  if (amount < 100n || inv.bankAccountId === null) return 'nothing to withdraw';
  const res = await state.stack.api.call<{ status?: string; error?: { code: string } }>(
    'POST',
    `/v1/investors/${inv.id}/withdrawals`,
    {
      key: inv.key,
      body: { amount: formatAmount(amount, 'CNY'), bankAccountId: inv.bankAccountId },
      idempotencyKey: `${inv.id}-wd-${tag}`,
    },
  );
  return `${inv.id} withdraws ${formatAmount(amount, 'CNY')}: ${res.status} ${res.body.status ?? res.body.error?.code ?? ''}`;
}
