// A repaying loan set up straight in Postgres (no Loan or Subscription workflow), for the tests of
// what happens after funding: its investors hold confirmed subscriptions, each with money in its
// account and a bank account on file, and each installment can be collected and distributed by
// the same functions the Repayment workflow's activities call.
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';
import type { Pool } from 'pg';
import { accountPath, Ledger } from '../../ledger';
import { post } from '../../ledger/transactions';
import { openRecovery } from '../../payments/recoveries';
import { inTransaction } from '../../db/pool';
import { MoneyDecimal } from '../../ledger/money';
import {
  distributeRepayment,
  openCollection,
  openRepayment,
  recordCollection,
  type DistributionTotals,
} from '../../loans/repayments';
import type { RepaymentMethod } from '../../loans/schedule';
import { createLoan } from '../../loans/store';
import { ACCOUNT } from '../gateway/helpers';
import { workflowIds } from '../../ids/workflow-ids';

export interface RepayingLoan {
  id: string;
  /** Holdings in minor units, by investor id (in this order). */
  holdings: { investorId: string; holdingMinor: bigint }[];
  termMonths: number;
  repaymentMethod: RepaymentMethod;
  annualRate?: string;
  interestFeeRate?: string;
}

export const FUNDS_MINOR = 100_000_000n;

/** Creates the borrower, the investors (funded, bank account on file) and the loan, REPAYING. */
export async function createRepayingLoan(pool: Pool, loan: RepayingLoan): Promise<void> {
  const ledger = new Ledger(pool);
  const principal = loan.holdings.reduce((a, h) => a + h.holdingMinor, 0n);
  await pool.query(
    `INSERT INTO parties (id, kind, name) VALUES ($1, 'borrower', 'Borrower') ON CONFLICT DO NOTHING`,
    [`${loan.id}-bor`],
  );
  // where a disbursement and the repayment collections go: a verified account on file
  await putVerifiedAccountOnFile(pool, `${loan.id}-bor`, ACCOUNT);
  for (const h of loan.holdings) {
    await pool.query(
      `INSERT INTO parties (id, kind, name) VALUES ($1, 'investor', $1) ON CONFLICT DO NOTHING`,
      [h.investorId],
    );
    // where their scheduled payouts go: a verified account on file
    await putVerifiedAccountOnFile(pool, h.investorId, ACCOUNT);
    await ledger.createAccount({ path: `investor:${h.investorId}:available`, currency: 'CNY' });
    await ledger.transfer({
      idempotencyKey: `fixture-fund:${h.investorId}`,
      from: 'gateway:default:clearing',
      to: `investor:${h.investorId}:available`,
      amount: FUNDS_MINOR,
      currency: 'CNY',
    });
  }
  await inTransaction(pool, async (tx) => {
    await createLoan(tx, {
      id: loan.id,
      borrowerId: `${loan.id}-bor`,
      currency: 'CNY',
      principalMinor: principal,
      annualRate: new MoneyDecimal(loan.annualRate ?? '0.12'),
      termMonths: loan.termMonths,
      repaymentMethod: loan.repaymentMethod,
      subscriptionDeadline: new Date(Date.now() + 60_000),
      feeRate: new MoneyDecimal(0),
      interestFeeRate: new MoneyDecimal(loan.interestFeeRate ?? '0'),
    });
    // no Loan workflow here
    await tx.query('DELETE FROM outbox WHERE workflow_id = $1', [workflowIds.loan(loan.id)]);
    await tx.query(
      `UPDATE loans SET status = 'REPAYING', remaining_minor = 0, funded_at = now() WHERE id = $1`,
      [loan.id],
    );
    // The subscription's hold is not what these tests are about: any ledger transaction satisfies
    // the reference.
    const { rows } = await tx.query<{ id: string }>(
      'SELECT min(id)::text AS id FROM ledger_transactions',
    );
    for (const [k, h] of loan.holdings.entries()) {
      await tx.query(
        `INSERT INTO subscriptions (id, loan_id, investor_id, amount_minor, currency, status, hold_transaction_id)
                      VALUES ($1, $2, $3, $4, 'CNY', 'CONFIRMED', $5)`,
        [`${loan.id}-sub${k}`, loan.id, h.investorId, h.holdingMinor.toString(), rows[0].id],
      );
    }
  });
}

/**
 * The borrower's installment `n` arrives through the gateway and is distributed, as the Repayment
 * workflow does it.
 */
export async function collectAndDistribute(
  pool: Pool,
  loanId: string,
  n: number,
): Promise<DistributionTotals> {
  await openRepayment(pool, loanId, n);
  const collection = await openCollection(pool, loanId, n, 1);
  await inTransaction(pool, (tx) =>
    recordCollection(tx, collection.orderNo, { verifiedBy: 'test' }),
  );
  return distributeRepayment(pool, loanId, n);
}

/**
 * A one-month loan, interest then principal, held whole by one investor (`<loanId>-a`, 100,000
 * minor units), whose first installment is collected and distributed: the investor's id.
 */
export async function oneInvestorLoanCollected(pool: Pool, loanId: string): Promise<string> {
  const investor = `${loanId}-a`;
  await createRepayingLoan(pool, {
    id: loanId,
    holdings: [{ investorId: investor, holdingMinor: 100_000n }],
    termMonths: 1,
    repaymentMethod: 'interest_then_principal',
  });
  await collectAndDistribute(pool, loanId, 1);
  return investor;
}

/** The interest and principal parts of the loan's one repayment share. */
export async function theShare(
  pool: Pool,
  loanId: string,
): Promise<{ interest: bigint; principal: bigint }> {
  const {
    rows: [share],
  } = await pool.query(
    'SELECT interest_minor::text, principal_minor::text FROM repayment_shares WHERE loan_id = $1',
    [loanId],
  );
  return { interest: BigInt(share.interest_minor), principal: BigInt(share.principal_minor) };
}

/**
 * What each investor received over the installments distributed so far: principal and interest, by
 * investor id.
 */
export async function receivedByInvestor(
  pool: Pool,
  loanId: string,
): Promise<Map<string, { principalMinor: bigint; interestMinor: bigint }>> {
  const { rows } = await pool.query(
    `SELECT investor_id, sum(principal_minor)::text AS principal, sum(interest_minor)::text AS interest FROM repayment_shares
     WHERE loan_id = $1 GROUP BY investor_id ORDER BY investor_id`,
    [loanId],
  );
  return new Map(
    rows.map((r) => [
      r.investor_id as string,
      { principalMinor: BigInt(r.principal), interestMinor: BigInt(r.interest) },
    ]),
  );
}

/**
 * An investor owes `amountMinor` back, as the manual recovery route books it: receivable against
 * suspense, OFFSETTING.
 */
export async function openOwedRecovery(
  pool: Pool,
  id: string,
  investorId: string,
  amountMinor: bigint,
): Promise<void> {
  await inTransaction(pool, async (tx) => {
    await post(tx, {
      idempotencyKey: `recovery:${id}:open`,
      legs: [
        {
          account: accountPath.platformRecoveryReceivable(),
          direction: 'debit',
          amount: amountMinor,
          currency: 'CNY',
        },
        {
          account: accountPath.platformSuspense(),
          direction: 'credit',
          amount: amountMinor,
          currency: 'CNY',
        },
      ],
      metadata: { recoveryId: id, reason: 'test' },
    });
    await openRecovery(tx, {
      id,
      investorId,
      currency: 'CNY',
      amountMinor,
      reason: 'paid twice',
      openedBy: 'operator:test',
    });
  });
}
