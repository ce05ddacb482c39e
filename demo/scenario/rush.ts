// Phase 2: the rush. A loan opens and every investor subscribes at once through the API, more
// money than the loan can take: it fills exactly, the late ones are told LOAN_FULL (and may take
// what remains, once). Then the loan decides, confirms, disburses and starts its calendar.
import { formatAmount, parseAmount } from '../../ledger/money';
import { inParallel, sleep } from '../api';
import { Phase } from '../progress';
import type { World } from '../world';
import type { Cast } from './setup';

export interface RushResult {
  loanId: string;
  principalMinor: bigint;
  accepted: number;
  loanFullAnswers: number;
  otherRefusals: number;
  confirmedMinor: bigint;
}

export async function rush(
  world: World,
  cast: Cast,
  months: number,
  monthSeconds: number,
): Promise<RushResult> {
  const { loanId, principalMinor } = await openLoan(world, cast, months, monthSeconds);
  const answers = await subscribeAtOnce(world, cast, loanId);
  const confirmedMinor = await untilConfirmed(world, loanId, answers.accepted, principalMinor);
  return { loanId, principalMinor, ...answers, confirmedMinor };
}

/** The loan, sized to three quarters of what the investors want. */
async function openLoan(
  world: World,
  cast: Cast,
  months: number,
  monthSeconds: number,
): Promise<{ loanId: string; principalMinor: bigint }> {
  const wanted = cast.investors.reduce((a, i) => a + i.wantMinor, 0n);
  // three quarters of the demand, in whole hundreds
  const principalMinor = ((wanted * 3n) / 4n / 10_000n) * 10_000n;
  const loanId = `${cast.run}-loan`;
  await world.api.must('POST', '/v1/loans', {
    idempotencyKey: `${loanId}-create`,
    body: {
      id: loanId,
      borrowerId: cast.borrowerId,
      principal: formatAmount(principalMinor, 'CNY'),
      annualRate: '0.12',
      termMonths: months,
      repaymentMethod: 'interest_then_principal',
      subscriptionDeadline: new Date(Date.now() + 15 * 60_000).toISOString(),
      feeRate: '0.01',
      interestFeeRate: '0.1',
      installmentIntervalSeconds: monthSeconds,
    },
  });
  console.log(
    `  loan ${loanId}: ${formatAmount(principalMinor, 'CNY')} at 12%, ${months} months of ${monthSeconds} s, interest monthly and principal at maturity; ${cast.investors.length} investors want ${formatAmount(wanted, 'CNY')}`,
  );
  return { loanId, principalMinor };
}

/** Every investor at once; one told LOAN_FULL takes what remains, once. */
async function subscribeAtOnce(
  world: World,
  cast: Cast,
  loanId: string,
): Promise<{ accepted: number; loanFullAnswers: number; otherRefusals: number }> {
  const { api } = world;
  const phase = new Phase('rush', cast.investors.length, 'investors');
  let accepted = 0;
  let loanFullAnswers = 0;
  let otherRefusals = 0;
  let answered = 0;
  await inParallel(cast.investors, 50, async (inv) => {
    let amount = inv.wantMinor;
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await api.call<{ error?: { code: string; details?: { remaining?: string } } }>(
        'POST',
        `/v1/loans/${loanId}/subscriptions`,
        {
          key: inv.key,
          body: { investorId: inv.id, amount: formatAmount(amount, 'CNY') },
          idempotencyKey: `${inv.id}-sub-${attempt}`,
        },
      );
      if (res.status === 201) {
        accepted += 1;
        break;
      }
      if (res.body.error?.code !== 'LOAN_FULL') {
        otherRefusals += 1;
        break;
      }
      loanFullAnswers += 1;
      const remaining = parseAmount(res.body.error.details?.remaining ?? '0.00', 'CNY', {
        allowZero: true,
      });
      if (remaining === 0n) break;
      amount = remaining < amount ? remaining : amount; // take what is left, once
    }
    answered += 1;
    phase.update(answered, `${accepted} accepted, ${loanFullAnswers} LOAN_FULL`);
  });
  accepted += await takeTheRest(world, cast, loanId);
  phase.done(
    `${accepted} subscriptions accepted, ${loanFullAnswers} LOAN_FULL answers, ${otherRefusals} other refusals`,
  );
  return { accepted, loanFullAnswers, otherRefusals };
}

/**
 * What no one took: an investor told LOAN_FULL retries once with what remained, and a smaller
 * subscription landing first leaves that retry LOAN_FULL again and a residue nobody asks for (the
 * loan would wait OPEN until its deadline). Investors take it one by one; how many were accepted.
 */
async function takeTheRest(world: World, cast: Cast, loanId: string): Promise<number> {
  let taken = 0;
  for (const inv of cast.investors) {
    const loan = await world.api.must<{ remaining: string }>('GET', `/v1/loans/${loanId}`);
    const remaining = parseAmount(loan.remaining, 'CNY', { allowZero: true });
    if (remaining === 0n) break;
    const amount = remaining < inv.wantMinor ? remaining : inv.wantMinor;
    const res = await world.api.call('POST', `/v1/loans/${loanId}/subscriptions`, {
      key: inv.key,
      body: { investorId: inv.id, amount: formatAmount(amount, 'CNY') },
      idempotencyKey: `${inv.id}-sub-rest`,
    });
    if (res.status === 201) taken += 1;
  }
  return taken;
}

/** Until the loan has decided (and disbursed): what it confirmed, against its principal. */
async function untilConfirmed(
  world: World,
  loanId: string,
  accepted: number,
  principalMinor: bigint,
): Promise<bigint> {
  const confirming = new Phase('confirming', accepted, 'subscriptions');
  for (;;) {
    const loan = await world.api.must<{ status: string }>('GET', `/v1/loans/${loanId}`);
    const { rows } = await world.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM subscriptions WHERE loan_id = $1 AND status = 'CONFIRMED'`,
      [loanId],
    );
    confirming.update(rows[0].n, `loan ${loan.status}`);
    if (loan.status === 'REPAYING' || loan.status === 'EXPIRED' || loan.status === 'CLOSED') break;
    await sleep(500);
  }
  const { rows } = await world.db.query<{ total: string }>(
    `SELECT coalesce(sum(amount_minor), 0)::text AS total FROM subscriptions WHERE loan_id = $1 AND status = 'CONFIRMED'`,
    [loanId],
  );
  const confirmedMinor = BigInt(rows[0].total);
  confirming.done(
    `filled ${formatAmount(confirmedMinor, 'CNY')} of ${formatAmount(principalMinor, 'CNY')}: oversold ${formatAmount(confirmedMinor > principalMinor ? confirmedMinor - principalMinor : 0n, 'CNY')}; disbursed to the borrower less 1%`,
  );
  return confirmedMinor;
}
