// A loan taken from creation to REPAYING through the real API, outbox and workflows, on a
// compressed calendar, for the repayment and payout-run tests; and the checks that the ledger
// equals the gateway's truth.
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { ADMIN_KEY } from '../api/helpers';
import { ACCOUNT } from '../gateway/helpers';
import type { TestDatabase } from '../helpers/postgres';
import { fundInvestor } from '../helpers/stack';

export const admin = { authorization: `Bearer ${ADMIN_KEY}` };

export interface LoanPlan {
  id: string;
  /**
   * Each investor's holding in minor units; those listed in `noBankAccount` keep their repayments
   * in their balance.
   */
  holdings: bigint[];
  termMonths: number;
  repaymentMethod: 'equal_installment' | 'equal_principal' | 'interest_then_principal';
  intervalSeconds: number;
  interestFeeRate?: string;
  noBankAccount?: number[];
  /**
   * Ids of the investors (default `{id}-inv000`, ...) and of the borrower (default `{id}-bor`),
   * e.g. 64 characters long.
   */
  investorIds?: string[];
  borrowerId?: string;
}

export const investorId = (plan: LoanPlan, i: number) =>
  plan.investorIds?.[i] ?? `${plan.id}-inv${String(i).padStart(3, '0')}`;
export const borrowerId = (plan: LoanPlan) => plan.borrowerId ?? `${plan.id}-bor`;
export const INVESTOR_FUNDS = 10_000_000n;

const minorToAmount = (minor: bigint) =>
  `${minor / 100n}.${(minor % 100n).toString().padStart(2, '0')}`;

/**
 * Creates the borrower, the investors (funded) and the loan, and subscribes it full. The dispatcher
 * does the rest.
 */
export async function openAndFillLoan(
  app: FastifyInstance,
  db: TestDatabase,
  plan: LoanPlan,
): Promise<void> {
  const post = async (
    url: string,
    payload: object,
    headers: object = admin,
    key = `${url}-${JSON.stringify(payload)}`.slice(0, 120).replace(/[^A-Za-z0-9_.:-]/g, '_'),
  ) => {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { ...headers, 'idempotency-key': key },
      payload,
    });
    if (res.statusCode >= 300) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  await post('/v1/borrowers', { id: borrowerId(plan), name: 'Borrower' });
  // where the disbursement goes and the repayments come from: a verified account on file
  await putVerifiedAccountOnFile(db.pool, borrowerId(plan), ACCOUNT);
  const principal = plan.holdings.reduce((a, b) => a + b, 0n);
  await post('/v1/loans', {
    id: plan.id,
    borrowerId: borrowerId(plan),
    principal: minorToAmount(principal),
    annualRate: '0.12',
    termMonths: plan.termMonths,
    repaymentMethod: plan.repaymentMethod,
    subscriptionDeadline: new Date(Date.now() + 600_000).toISOString(),
    feeRate: '0.01',
    installmentIntervalSeconds: plan.intervalSeconds,
    interestFeeRate: plan.interestFeeRate ?? '0.1',
  });
  for (let i = 0; i < plan.holdings.length; i++) {
    const id = investorId(plan, i);
    const withAccount = !(plan.noBankAccount ?? []).includes(i);
    await post('/v1/investors', { id, name: `Investor ${i}` });
    // where their scheduled payouts go: a verified account on file
    if (withAccount) await putVerifiedAccountOnFile(db.pool, id, ACCOUNT);
    const key = (await post('/v1/api-keys', { role: `investor:${id}` })).key as string;
    await fundInvestor(db, id, INVESTOR_FUNDS);
    await post(
      `/v1/loans/${plan.id}/subscriptions`,
      { investorId: id, amount: minorToAmount(plan.holdings[i]) },
      { authorization: `Bearer ${key}` },
      `sub-${id}`,
    );
  }
}

/** Every payout the gateway executed is posted once in the ledger, and nothing else is. */
export async function expectLedgerEqualsGateway(
  pool: Pool,
  simulator: RunningSimulator,
): Promise<void> {
  const executed = simulator
    .truth()
    .filter((o) => o.kind === 'PAYOUT' && o.status === 'SUCCESS')
    .map((o) => `${o.orderNo}:${o.amountMinor}`)
    .sort();
  const { rows } = await pool.query(
    `SELECT p.order_no || ':' || p.amount_minor AS k FROM ledger_transactions t JOIN payouts p ON p.id = t.metadata->>'payoutId'
     WHERE t.idempotency_key LIKE 'payout:%:post' ORDER BY 1`,
  );
  expect(rows.map((r) => r.k)).toEqual(executed);
  const collected = simulator
    .truth()
    .filter((o) => o.kind === 'COLLECTION' && o.status === 'SUCCESS')
    .map((o) => o.orderNo)
    .sort();
  const { rows: ours } = await pool.query(
    `SELECT metadata->>'orderNo' AS o FROM ledger_transactions WHERE idempotency_key LIKE 'repayment:%:collect:%' OR idempotency_key LIKE 'deposit:%:credit' ORDER BY 1`,
  );
  expect(ours.map((r) => r.o)).toEqual(collected);
}

/** Polls `read` until `done` holds (bounded). */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out; last value ${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
