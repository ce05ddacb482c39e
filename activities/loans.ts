// Activities of the Loan and Subscription workflows. Each is idempotent: ledger writes by key,
// status changes only from the expected state, signals to workflows that ignore repeats.
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { recordRefusal } from '../decisions/operator-decisions';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { accountPath } from '../ledger/accounts';
import { MoneyDecimal, roundMinor } from '../ledger/money';
import { queryPolicyFor, type GatewayQueryPolicy } from '../loans/repayment-rules';
import { post } from '../ledger/transactions';
import { createPayout, getPayout } from '../payments/payouts';
import { verifiedAccountOf } from '../payments/bank-accounts';
import { writeAudit } from '../db/audit';
import {
  cancelSubscription,
  countSubscriptions,
  decideLoan,
  getLoan,
  listSubscriptions,
  setLoanStatus,
  settleSubscription,
  type LoanStatus,
  type LoanView,
  type SubscriptionRow,
  type SubscriptionStatus,
} from '../loans/store';
import { SearchAttributes, TASK_QUEUE } from '../workflows/contracts/common';
import {
  loanDecidedSignal,
  type LoanDecision,
  type SubscriptionWorkflowInput,
} from '../workflows/contracts/subscription';
import { workflowIds } from '../ids/workflow-ids';
import { disbursementPayoutId } from '../ids/derived';

const PAGE = 200;
const PARALLEL = 8;

export interface LoanTerms {
  loanId: string;
  borrowerId: string;
  status: LoanStatus;
  subscriptionDeadline: string;
  /** The disbursement payout's query policy on a compressed calendar; else the default. */
  queryPolicy?: GatewayQueryPolicy;
}

async function inParallel<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** The loan's own row: its terms, its decision, its schedule and its status moves. */
function loanStateActivities(pool: Pool) {
  return {
    async getLoanTerms(loanId: string): Promise<LoanTerms> {
      const loan = await getLoan(pool, loanId);
      if (!loan) throw new Error(`loan ${loanId} does not exist`);
      const queryPolicy = queryPolicyFor(loan.installmentIntervalSeconds);
      return {
        loanId,
        borrowerId: loan.borrowerId,
        status: loan.status,
        subscriptionDeadline: loan.subscriptionDeadline.toISOString(),
        ...(queryPolicy ? { queryPolicy } : {}),
      };
    },

    decideLoan(loanId: string, deadlinePassed: boolean): Promise<LoanStatus> {
      return decideLoan(pool, loanId, deadlinePassed);
    },

    /**
     * Installment numbers and due dates (counted from funding), for the loan's repayment timers.
     */
    async getRepaymentSchedule(loanId: string): Promise<{ n: number; dueDate: string }[]> {
      const loan = await getLoan(pool, loanId);
      if (!loan) throw new Error(`loan ${loanId} does not exist`);
      return loan.schedule.map((i) => ({ n: i.n, dueDate: i.dueDate.toISOString() }));
    },

    setLoanStatus(loanId: string, from: LoanStatus, to: LoanStatus): Promise<void> {
      return setLoanStatus(pool, loanId, from, to);
    },
  };
}

/**
 * Tells one subscription the loan's decision, starting its workflow if the dispatcher has not yet
 * (signal-with-start on the same deterministic id).
 */
function signalLoanDecided(temporal: Client, s: SubscriptionRow, decision: LoanDecision) {
  const input: SubscriptionWorkflowInput = {
    subscriptionId: s.id,
    loanId: s.loanId,
    investorId: s.investorId,
  };
  return temporal.workflow.signalWithStart('subscriptionWorkflow', {
    workflowId: workflowIds.subscription(s.id),
    taskQueue: TASK_QUEUE,
    args: [input],
    signal: loanDecidedSignal,
    signalArgs: [decision],
    typedSearchAttributes: [
      { key: SearchAttributes.LoanId, value: s.loanId },
      { key: SearchAttributes.InvestorId, value: s.investorId },
    ],
  });
}

/** The loan's subscriptions: confirmed into escrow, told the decision, settled one by one. */
function subscriptionActivities(pool: Pool, temporal: Client) {
  return {
    /** Posts every reserved hold into escrow (the money the loan needs before disbursing). */
    async confirmSubscriptions(loanId: string): Promise<number> {
      let confirmed = 0;
      for (;;) {
        const page = await listSubscriptions(pool, loanId, 'RESERVED', '', PAGE);
        if (page.length === 0) return confirmed;
        await inParallel(page, PARALLEL, (s) => settleSubscription(pool, s.id, 'confirm'));
        confirmed += page.length;
        Context.current().heartbeat(confirmed);
      }
    },

    /**
     * Tells every subscription of the loan the decision (signalLoanDecided). Resumes from its
     * heartbeat.
     */
    async notifySubscriptions(loanId: string, decision: LoanDecision): Promise<number> {
      const statuses: SubscriptionStatus[] =
        decision === 'funded' ? ['CONFIRMED', 'RESERVED'] : ['RESERVED'];
      let notified = 0;
      for (const status of statuses) {
        let after = '';
        for (;;) {
          const page = await listSubscriptions(pool, loanId, status, after, PAGE);
          if (page.length === 0) break;
          await inParallel(page, PARALLEL, (s) => signalLoanDecided(temporal, s, decision));
          after = page[page.length - 1].id;
          notified += page.length;
          Context.current().heartbeat(notified);
        }
      }
      return notified;
    },

    /** Fails (and is retried) while any reservation of the loan is still undecided. */
    async assertNoneReserved(loanId: string): Promise<void> {
      const counts = await countSubscriptions(pool, loanId);
      if (counts.RESERVED > 0)
        throw new Error(`${counts.RESERVED} reservations of ${loanId} are not yet settled`);
    },

    async settleSubscription(
      subscriptionId: string,
      outcome: 'confirm' | 'refund' | 'cancel',
    ): Promise<SubscriptionStatus> {
      if (outcome === 'cancel') return cancelSubscription(pool, subscriptionId);
      const settled = await settleSubscription(pool, subscriptionId, outcome);
      if (settled === 'RESERVED') {
        const why = `a loanDecided signal said ${outcome === 'confirm' ? 'funded' : 'expired'}, which the loan's status does not show`;
        await recordRefusal(
          pool,
          workflowIds.subscription(subscriptionId),
          'loan.decided',
          subscriptionId,
          why,
        );
        log.error('ALERT: loan decision signal refused', { subscriptionId, why });
      }
      return settled;
    },
  };
}

/** The disbursement's legs: escrow to the borrower, less the platform fee (when there is one). */
function disbursementLegs(loanId: string, loan: LoanView, feeMinor: bigint, netMinor: bigint) {
  return [
    {
      account: accountPath.loanEscrow(loanId),
      direction: 'debit' as const,
      amount: loan.principalMinor,
      currency: loan.currency,
    },
    {
      account: accountPath.borrowerAvailable(loan.borrowerId),
      direction: 'credit' as const,
      amount: netMinor,
      currency: loan.currency,
    },
    ...(feeMinor > 0n
      ? [
          {
            account: accountPath.platformFees(),
            direction: 'credit' as const,
            amount: feeMinor,
            currency: loan.currency,
          },
        ]
      : []),
  ];
}
/** The disbursement payout's hold and the drop of its outbox row, in one transaction. */
async function createDisbursementPayout(
  pool: Pool,
  loan: LoanView,
  payoutId: string,
  netMinor: string,
  to: { bankAccountId: string },
): Promise<void> {
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    await createPayout(tx, {
      id: payoutId,
      purpose: 'disbursement',
      partyId: loan.borrowerId,
      sourceAccount: accountPath.borrowerAvailable(loan.borrowerId),
      amountMinor: BigInt(netMinor),
      currency: loan.currency,
      bankAccountId: to.bankAccountId,
    });
    // The loan's workflow starts this payout as its child; the outbox row is not needed.
    await tx.query('DELETE FROM outbox WHERE workflow_id = $1', [workflowIds.payout(payoutId)]);
    await tx.query('COMMIT');
  } catch (err) {
    await tx.query('ROLLBACK');
    throw err;
  } finally {
    tx.release();
  }
}

/**
 * No verified account to pay: the net stays in borrower:{id}:available, on record (audited once)
 * for the borrower and an operator, never silently. Nothing is paid until one is on file.
 */
async function keepDisbursementInBalance(pool: Pool, loan: LoanView, netMinor: string) {
  await writeAudit(pool, {
    actor: 'system:loan-workflow',
    action: 'disbursement.kept_in_balance',
    subject: loan.borrowerId,
    reason: 'NO_VERIFIED_BANK_ACCOUNT',
    details: { loanId: loan.id, amountMinor: netMinor, currency: loan.currency },
    idempotencyKey: `disbursement.kept_in_balance:${loan.id}`,
  });
}

/** The money out of escrow: the disbursement posting and the payout to the borrower's bank. */
function disbursementActivities(pool: Pool, coolingOffSeconds: number) {
  return {
    /** Escrow to the borrower, less the platform fee (one balanced transaction), then DISBURSED. */
    async disburse(
      loanId: string,
    ): Promise<{ transactionId: string; feeMinor: string; netMinor: string }> {
      const loan = await getLoan(pool, loanId);
      if (!loan) throw new Error(`loan ${loanId} does not exist`);
      const feeMinor = roundMinor(
        new MoneyDecimal(loan.principalMinor.toString()).mul(loan.feeRate),
      );
      const netMinor = loan.principalMinor - feeMinor;
      const legs = disbursementLegs(loanId, loan, feeMinor, netMinor);
      const result = await post(pool, {
        idempotencyKey: `loan:${loanId}:disburse`,
        legs,
        metadata: { loanId, workflowId: workflowIds.loan(loanId), reason: 'disbursement' },
      });
      await setLoanStatus(pool, loanId, 'FUNDED', 'DISBURSED');
      return {
        transactionId: result.transactionId,
        feeMinor: feeMinor.toString(),
        netMinor: netMinor.toString(),
      };
    },

    /**
     * Holds the borrower's disbursed money for a payout to their bank account, once. Returns the
     * payout id, or null when the borrower has no verified account on file past its cooling-off
     * (the money stays in their balance, audited as `disbursement.kept_in_balance`).
     */
    async requestDisbursementPayout(loanId: string, netMinor: string): Promise<string | null> {
      const loan = await getLoan(pool, loanId);
      if (!loan) throw new Error(`loan ${loanId} does not exist`);
      const payoutId = disbursementPayoutId(loanId);
      const existing = await getPayout(pool, payoutId);
      if (existing) {
        // Ours from an earlier attempt of this step. Anything else under the id would be a broken
        // id contract: stop loudly rather than count another payout as the borrower's disbursement.
        if (existing.purpose !== 'disbursement' || existing.partyId !== loan.borrowerId) {
          throw ApplicationFailure.create({
            type: 'PayoutIdTaken',
            message: `payout ${payoutId} is not loan ${loanId}'s disbursement`,
            nonRetryable: true,
          });
        }
        return payoutId;
      }
      // Only a verified account on file past its cooling-off (a key that adds one just before the
      // disbursement redirects nothing); a number given at creation is never paid to unverified.
      const bankAccountId = await verifiedAccountOf(pool, loan.borrowerId, coolingOffSeconds);
      if (!bankAccountId) {
        await keepDisbursementInBalance(pool, loan, netMinor);
        return null;
      }
      await createDisbursementPayout(pool, loan, payoutId, netMinor, { bankAccountId });
      return payoutId;
    },
  };
}

/** Every activity of the Loan and Subscription workflows; the keys are the activity types. */
export function createLoanActivities(deps: {
  pool: Pool;
  temporal: Client;
  bankAccountCoolingOffSeconds?: number;
}) {
  const { pool, temporal } = deps;
  return {
    ...loanStateActivities(pool),
    ...subscriptionActivities(pool, temporal),
    ...disbursementActivities(pool, deps.bankAccountCoolingOffSeconds ?? 0),
  };
}

export type LoanActivities = ReturnType<typeof createLoanActivities>;
