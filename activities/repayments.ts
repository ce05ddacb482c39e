// Activities of the Repayment and Payout run workflows. Each is idempotent: collections by order
// number (the gateway deduplicates), ledger writes by key, payouts by deterministic id.
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { GatewayClient } from '../gateway/client';
import { orderMemo } from '../gateway/protocol';
import { openBankAccount } from '../payments/bank-accounts';
import {
  distributeRepayment,
  getCollection,
  markOverdue,
  openCollection,
  openRepayment,
  recordCollection,
  recordFoundCollection,
  RepaymentError,
  setCollectionStatus,
  setInstallmentStatus,
  type Collection,
  type DistributionTotals,
  type RepaymentStatus,
  type RepaymentTerms,
} from '../loans/repayments';
import {
  markFannedOut,
  payoutRunSummary,
  preparePayoutPage,
  type PayoutPage,
  type PayoutRunSummary,
} from '../payments/payout-runs';
import type { GatewayOutcome, ResolveReviewInput } from '../workflows/contracts/gateway-order';
import { toPlainOutcome } from './gateway-outcome';
import { reviewEvidence, withReviewAudit } from './review-audit';
import { workflowIds } from '../ids/workflow-ids';

/** A refusal (no such loan, not repaying) is final: retrying cannot change it. */
async function final<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof RepaymentError)
      throw ApplicationFailure.create({
        type: 'RepaymentError',
        message: err.message,
        nonRetryable: true,
        details: [err.code],
      });
    throw err;
  }
}

async function loadCollection(pool: Pool, orderNo: string): Promise<Collection> {
  const c = await getCollection(pool, orderNo);
  if (!c) throw new Error(`collection ${orderNo} does not exist`);
  return c;
}

/** The installment itself: opened, marked overdue, distributed to its investors, moved on. */
function installmentActivities(pool: Pool) {
  return {
    openRepayment(loanId: string, n: number): Promise<RepaymentTerms> {
      return final(() => openRepayment(pool, loanId, n));
    },

    async markOverdue(loanId: string, n: number): Promise<string> {
      return (await markOverdue(pool, loanId, n)).toString();
    },

    distributeRepayment(loanId: string, n: number): Promise<DistributionTotals> {
      return final(() => distributeRepayment(pool, loanId, n));
    },

    setInstallmentStatus(
      loanId: string,
      n: number,
      from: RepaymentStatus,
      to: RepaymentStatus,
    ): Promise<void> {
      return setInstallmentStatus(pool, loanId, n, from, to);
    },
  };
}

/** A collection's order at the gateway: opened once per attempt, submitted, asked about. */
function collectionOrderActivities(pool: Pool, gateway: GatewayClient) {
  return {
    /** The order of collection attempt `attempt` (created once): its order number and amount. */
    async openCollection(
      loanId: string,
      n: number,
      attempt: number,
    ): Promise<{ orderNo: string; amountMinor: string }> {
      const c = await final(() => openCollection(pool, loanId, n, attempt));
      return { orderNo: c.orderNo, amountMinor: c.amountMinor.toString() };
    },

    async submitRepaymentCollection(orderNo: string): Promise<GatewayOutcome> {
      const c = await loadCollection(pool, orderNo);
      // No account to collect from is a definitive "not executed": nothing was sent.
      const account = c.bankAccountId
        ? await openBankAccount(pool, c.bankAccountId)
        : c.bankAccount;
      if (!account) return { kind: 'failed', code: 'NO_BANK_ACCOUNT' };
      return toPlainOutcome(
        await gateway.collect({
          orderNo,
          amountMinor: c.amountMinor,
          currency: c.currency,
          account,
          memo: orderMemo('repayment', orderNo),
        }),
      );
    },

    async queryRepaymentCollection(orderNo: string): Promise<GatewayOutcome> {
      const c = await loadCollection(pool, orderNo);
      return toPlainOutcome(
        await gateway.query({
          orderNo,
          kind: 'COLLECTION',
          amountMinor: c.amountMinor,
          currency: c.currency,
        }),
      );
    },
  };
}

/** How a collection ended, recorded (with the operator's review audited, when one decided it). */
function collectionOutcomeActivities(pool: Pool) {
  return {
    /**
     * Credits loan:{id}:repayment once; `resolution` records the operator when a person decided.
     */
    async recordCollection(orderNo: string, resolution?: ResolveReviewInput): Promise<string> {
      const evidence = reviewEvidence(resolution);
      const c = await loadCollection(pool, orderNo);
      return withReviewAudit(
        pool,
        workflowIds.repayment(c.loanId, c.n),
        resolution,
        (tx) => recordCollection(tx, orderNo, evidence),
        orderNo,
      );
    },

    /**
     * A collection recorded FAILED that the gateway, asked again, says it executed: booked as its
     * success would have been, from where its money sits now; the late fee of its own failure taken
     * back.
     */
    async recordFoundCollection(
      orderNo: string,
    ): Promise<{ transactionId: string; from: string; lateFeeWaivedMinor: string }> {
      const c = await loadCollection(pool, orderNo);
      const found = await withReviewAudit(
        pool,
        workflowIds.repayment(c.loanId, c.n),
        undefined,
        (tx) => recordFoundCollection(tx, orderNo, reviewEvidence(undefined)),
        orderNo,
      );
      return {
        transactionId: found.transactionId,
        from: found.from,
        lateFeeWaivedMinor: found.lateFeeWaivedMinor.toString(),
      };
    },

    /** `resolution`: an operator's not_paid, audited with the status change. */
    async setCollectionStatus(
      orderNo: string,
      status: 'FAILED' | 'MANUAL_REVIEW',
      resolution?: ResolveReviewInput,
    ): Promise<void> {
      const c = await loadCollection(pool, orderNo);
      await withReviewAudit(
        pool,
        workflowIds.repayment(c.loanId, c.n),
        resolution,
        (tx) => setCollectionStatus(tx, orderNo, status),
        orderNo,
      );
    },
  };
}

/** The Payout run workflow's: the installment's payouts created page by page, then awaited. */
function payoutRunActivities(pool: Pool, coolingOffSeconds: number) {
  return {
    preparePayoutPage(
      loanId: string,
      n: number,
      after: string,
      limit: number,
    ): Promise<PayoutPage> {
      return preparePayoutPage(pool, loanId, n, after, limit, coolingOffSeconds);
    },

    markFannedOut(loanId: string, n: number): Promise<void> {
      return markFannedOut(pool, loanId, n);
    },

    /**
     * Fails (and is retried with backoff) until every payout of the installment has its payout and
     * none is in flight: settled, or waiting for an operator. One activity, however long it polls.
     */
    async awaitPayoutsSettled(loanId: string, n: number): Promise<PayoutRunSummary> {
      const summary = await payoutRunSummary(pool, loanId, n);
      if (!summary.fannedOut)
        throw new Error(`the payouts of ${loanId} #${n} are still being created`);
      if (summary.inFlight > 0)
        throw new Error(`${summary.inFlight} payouts of ${loanId} #${n} are in flight`);
      return summary;
    },
  };
}

/** Every activity of the Repayment and Payout run workflows; the keys are the activity types. */
export function createRepaymentActivities(deps: {
  pool: Pool;
  gateway: GatewayClient;
  bankAccountCoolingOffSeconds?: number;
}) {
  const { pool, gateway } = deps;
  return {
    ...installmentActivities(pool),
    ...collectionOrderActivities(pool, gateway),
    ...collectionOutcomeActivities(pool),
    ...payoutRunActivities(pool, deps.bankAccountCoolingOffSeconds ?? 0),
  };
}

export type RepaymentActivities = ReturnType<typeof createRepaymentActivities>;
