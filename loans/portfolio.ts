// What an investor holds and a borrower owes, read from the ledger's side tables (API.md:
// GET /v1/investors/{id}/portfolio, GET /v1/borrowers/{id}/loans). An investor's expected receipts
// are the installments still to be distributed, split by the same cumulative rule the distribution
// will use (ledger/money.ts allocateCumulative) from what each investor was already given, so what
// was received plus what is expected is exactly their principal. No Temporal here.
import { allocateCumulative } from '../ledger/money';
import type { Queryable } from '../ledger/types';
import { interestFee } from './repayment-rules';
import { getLoan, type LoanView } from './store';

const DISTRIBUTED = new Set(['DISTRIBUTED', 'PAID_OUT']);

export interface ExpectedReceipt {
  n: number;
  dueDate: Date;
  principalMinor: bigint;
  interestMinor: bigint;
}

export interface Holding {
  loanId: string;
  status: string;
  currency: string;
  holdingMinor: bigint;
  principalReceivedMinor: bigint;
  interestReceivedMinor: bigint;
  principalOutstandingMinor: bigint;
  expected: ExpectedReceipt[];
}

export interface OpenRecovery {
  id: string;
  state: string;
  currency: string;
  owedMinor: bigint;
  outstandingMinor: bigint;
}

interface Investor {
  investorId: string;
  holdingMinor: bigint;
  principalMinor: bigint;
  interestMinor: bigint;
}

/** Each investor of a funded loan: their holding and what the distributions gave them so far. */
async function investorsOf(db: Queryable, loanId: string): Promise<Investor[]> {
  const { rows } = await db.query(
    `SELECT h.investor_id, h.holding::text, coalesce(s.principal, 0)::text AS principal,
            coalesce(s.interest, 0)::text AS interest
       FROM (SELECT investor_id, sum(amount_minor) AS holding FROM subscriptions
              WHERE loan_id = $1 AND status = 'CONFIRMED' GROUP BY investor_id) h
       LEFT JOIN (SELECT investor_id, sum(principal_minor) AS principal, sum(interest_minor) AS interest
                    FROM repayment_shares WHERE loan_id = $1 GROUP BY investor_id) s
              ON s.investor_id = h.investor_id
      ORDER BY h.investor_id`,
    [loanId],
  );
  return rows.map((r) => ({
    investorId: r.investor_id,
    holdingMinor: BigInt(r.holding),
    principalMinor: BigInt(r.principal),
    interestMinor: BigInt(r.interest),
  }));
}

/**
 * The investor's part of each installment still to be distributed, installment by installment, as
 * the cumulative rule will split it (interest less the platform's fee on it).
 */
function expectedFor(
  loan: LoanView,
  interestFeeRate: string,
  investors: Investor[],
  k: number,
): ExpectedReceipt[] {
  const weights = investors.map((i) => i.holdingMinor);
  const life = (pick: (r: LoanView['schedule'][number]) => bigint) =>
    loan.schedule.reduce((a, r) => a + pick(r), 0n);
  const net = (r: LoanView['schedule'][number]) =>
    r.interestMinor - interestFee(r.interestMinor, interestFeeRate);
  const lifePrincipal = life((r) => r.principalMinor);
  const lifeInterest = life(net);
  const paidPrincipal = investors.map((i) => i.principalMinor);
  const paidInterest = investors.map((i) => i.interestMinor);
  const expected: ExpectedReceipt[] = [];
  for (const r of loan.schedule.filter((row) => !DISTRIBUTED.has(row.status))) {
    const principal = allocateCumulative({
      amountMinor: r.principalMinor,
      weights,
      paidMinor: paidPrincipal,
      lifeTotalMinor: lifePrincipal,
    });
    const interest = allocateCumulative({
      amountMinor: net(r),
      weights,
      paidMinor: paidInterest,
      lifeTotalMinor: lifeInterest,
    });
    principal.forEach((p, j) => (paidPrincipal[j] += p));
    interest.forEach((p, j) => (paidInterest[j] += p));
    expected.push({
      n: r.n,
      dueDate: r.dueDate,
      principalMinor: principal[k],
      interestMinor: interest[k],
    });
  }
  return expected;
}

async function holdingIn(db: Queryable, loanId: string, investorId: string): Promise<Holding> {
  const loan = (await getLoan(db, loanId)) as LoanView;
  const { rows } = await db.query<{ rate: string }>(
    'SELECT interest_fee_rate::text AS rate FROM loans WHERE id = $1',
    [loanId],
  );
  const investors = await investorsOf(db, loanId);
  const k = investors.findIndex((i) => i.investorId === investorId);
  const me = investors[k];
  const ended = loan.status === 'EXPIRED' || loan.status === 'CLOSED';
  return {
    loanId,
    status: loan.status,
    currency: loan.currency,
    holdingMinor: me.holdingMinor,
    principalReceivedMinor: me.principalMinor,
    interestReceivedMinor: me.interestMinor,
    principalOutstandingMinor: me.holdingMinor - me.principalMinor,
    expected: ended || !loan.fundedAt ? [] : expectedFor(loan, rows[0].rate, investors, k),
  };
}

/** The investor's confirmed holdings, loan by loan, and their recoveries still open. */
export async function investorPortfolio(
  db: Queryable,
  investorId: string,
): Promise<{ holdings: Holding[]; openRecoveries: OpenRecovery[] }> {
  const { rows: loans } = await db.query<{ loan_id: string }>(
    `SELECT DISTINCT loan_id FROM subscriptions WHERE investor_id = $1 AND status = 'CONFIRMED'
      ORDER BY loan_id`,
    [investorId],
  );
  const holdings: Holding[] = [];
  for (const { loan_id } of loans) holdings.push(await holdingIn(db, loan_id, investorId));
  const { rows } = await db.query(
    `SELECT id, state, currency, amount_minor, recovered_minor, written_off_minor FROM recoveries
      WHERE investor_id = $1 AND state NOT IN ('RECOVERED', 'WRITTEN_OFF') ORDER BY created_at, id`,
    [investorId],
  );
  const openRecoveries = rows.map((r) => ({
    id: r.id,
    state: r.state,
    currency: r.currency,
    owedMinor: BigInt(r.amount_minor),
    outstandingMinor:
      BigInt(r.amount_minor) - BigInt(r.recovered_minor) - BigInt(r.written_off_minor),
  }));
  return { holdings, openRecoveries };
}

export interface BorrowerInstallment {
  n: number;
  dueDate: Date;
  principalMinor: bigint;
  interestMinor: bigint;
  lateFeeMinor: bigint;
  paidMinor: bigint;
  status: string;
  /** Past its due date and not collected. */
  due: boolean;
}

export interface BorrowerLoan {
  loanId: string;
  status: string;
  currency: string;
  principalMinor: bigint;
  paidMinor: bigint;
  dueNowMinor: bigint;
  schedule: BorrowerInstallment[];
}

const COLLECTED = new Set(['COLLECTED', 'DISTRIBUTED', 'PAID_OUT']);

/** The borrower's loans, each with its schedule, what was paid and what is due now. */
export async function borrowerLoans(
  db: Queryable,
  borrowerId: string,
  now = new Date(),
): Promise<BorrowerLoan[]> {
  const { rows: ids } = await db.query<{ id: string }>(
    'SELECT id FROM loans WHERE borrower_id = $1 ORDER BY created_at, id',
    [borrowerId],
  );
  const loans: BorrowerLoan[] = [];
  for (const { id } of ids) {
    const loan = (await getLoan(db, id)) as LoanView;
    const { rows } = await db.query(
      `SELECT n, late_fee_minor::text, collected_minor::text FROM loan_installments WHERE loan_id = $1`,
      [id],
    );
    const extra = new Map(rows.map((r) => [r.n as number, r]));
    const schedule = loan.schedule.map((r) => {
      const paidMinor = COLLECTED.has(r.status) ? BigInt(extra.get(r.n)?.collected_minor ?? 0) : 0n;
      const lateFeeMinor = BigInt(extra.get(r.n)?.late_fee_minor ?? 0);
      const funded = loan.fundedAt !== null;
      const due = funded && !COLLECTED.has(r.status) && r.dueDate <= now;
      return { ...r, lateFeeMinor, paidMinor, due };
    });
    loans.push({
      loanId: id,
      status: loan.status,
      currency: loan.currency,
      principalMinor: loan.principalMinor,
      paidMinor: schedule.reduce((a, r) => a + r.paidMinor, 0n),
      dueNowMinor: schedule
        .filter((r) => r.due)
        .reduce((a, r) => a + r.principalMinor + r.interestMinor + r.lateFeeMinor, 0n),
      schedule,
    });
  }
  return loans;
}
