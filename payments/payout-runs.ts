// A payout run in Postgres: the scheduled payouts of one installment, one per investor and part
// (interest, principal), with deterministic ids, so any number of runs create each payout once.
import type { Pool } from 'pg';
import { accountPath } from '../ledger/accounts';
import { inTransaction } from '../db/pool';
import { LedgerError } from '../ledger/errors';
import type { Queryable } from '../ledger/types';
import { queryPolicyFor, type GatewayQueryPolicy } from '../loans/repayment-rules';
import { createPayout, getPayout } from './payouts';
import { offsetFromPayout } from './recoveries';
import { legacyScheduledPayoutId, scheduledPayoutId, type PayoutPart } from '../ids/derived';

export type { PayoutPart } from '../ids/derived';

export interface RunPayout {
  payoutId: string;
  partyId: string;
}

export interface PayoutPage {
  /** Payouts to start (HELD); those a run already settled are left alone. */
  payouts: RunPayout[];
  /** The last investor of this page: where the next page starts; null when there is none. */
  next: string | null;
  /** Parts with nothing to send: no bank account on file, or the money was already spent. */
  skipped: number;
  /** The loan's own query policy (compressed calendars), for a run started without one. */
  queryPolicy?: GatewayQueryPolicy;
}

const PARALLEL = 8;

/**
 * The payouts of the next `limit` investors' shares after `after`: held and recorded now if they
 * are new, returned as they are if a run (this one before a crash, or another) made them already.
 */
export async function preparePayoutPage(
  pool: Pool,
  loanId: string,
  n: number,
  after: string,
  limit: number,
  coolingOffSeconds = 0,
): Promise<PayoutPage> {
  // Each investor's share goes to their verified account on file past its cooling-off, never to
  // an account given any other way (migration 0028).
  const { rows } = await pool.query(
    `SELECT s.investor_id, s.interest_minor, s.principal_minor, l.currency, l.installment_interval_seconds,
            verified_account_of(s.investor_id, $5) AS bank_account_id
     FROM repayment_shares s JOIN loans l ON l.id = s.loan_id
     WHERE s.loan_id = $1 AND s.n = $2 AND s.investor_id > $3 ORDER BY s.investor_id LIMIT $4`,
    [loanId, n, after, limit, coolingOffSeconds],
  );
  const wanted = rows.flatMap((r) =>
    (['interest', 'principal'] as const)
      .map((part) => ({
        part,
        investorId: r.investor_id as string,
        amountMinor: BigInt(r[`${part}_minor`]),
        currency: r.currency as string,
        bankAccountId: r.bank_account_id as string | null,
      }))
      .filter((w) => w.amountMinor > 0n),
  );

  const payouts: RunPayout[] = [];
  let skipped = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL, wanted.length) }, async () => {
      while (next < wanted.length) {
        const w = wanted[next++];
        const payoutId =
          (await legacyPayoutOf(pool, loanId, n, w.investorId, w.part)) ??
          scheduledPayoutId(loanId, n, w.investorId, w.part);
        const outcome = await ensurePayout(pool, payoutId, loanId, n, w);
        if (outcome === 'start') payouts.push({ payoutId, partyId: w.investorId });
        else if (outcome === 'skipped') skipped += 1;
      }
    }),
  );
  payouts.sort((a, b) => a.payoutId.localeCompare(b.payoutId)); // the same order on a retry
  const queryPolicy =
    rows.length > 0 ? queryPolicyFor(rows[0].installment_interval_seconds) : undefined;
  return {
    payouts,
    next: rows.length === limit ? rows[rows.length - 1].investor_id : null,
    skipped,
    ...(queryPolicy ? { queryPolicy } : {}),
  };
}

/**
 * The share's payout under its old id, if one was made before the ids changed (it is this share's:
 * same loan, installment and investor).
 */
async function legacyPayoutOf(
  db: Queryable,
  loanId: string,
  n: number,
  investorId: string,
  part: PayoutPart,
): Promise<string | undefined> {
  const legacy = legacyScheduledPayoutId(loanId, n, investorId, part);
  if (!legacy) return undefined;
  const { rows } = await db.query(
    'SELECT id FROM payouts WHERE id = $1 AND loan_id = $2 AND installment = $3 AND party_id = $4',
    [legacy, loanId, n, investorId],
  );
  return rows[0]?.id;
}

async function ensurePayout(
  pool: Pool,
  payoutId: string,
  loanId: string,
  n: number,
  w: { investorId: string; amountMinor: bigint; currency: string; bankAccountId: string | null },
): Promise<'start' | 'settled' | 'skipped'> {
  // A payout still HELD may never have been started (a crash between here and the start): start it.
  const settledOrStart = (status: string) => (status === 'HELD' ? 'start' : 'settled');
  const existing = await getPayout(pool, payoutId);
  if (existing) {
    // Another share's payout under this id would leave this share unpaid: stop, never skip it.
    if (existing.partyId !== w.investorId)
      throw new Error(
        `payout ${payoutId} belongs to ${existing.partyId}, not to ${w.investorId} of ${loanId} #${n}`,
      );
    return settledOrStart(existing.status);
  }
  // no verified account to send it to: the money stays in the investor's balance
  const bankAccountId = w.bankAccountId;
  if (!bankAccountId) return 'skipped';
  try {
    return await inTransaction(pool, async (tx) => {
      // Two runs at the same moment: the second waits here, then finds the first's payout.
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `payout:${payoutId}`,
      ]);
      const made = await getPayout(tx, payoutId);
      if (made) return settledOrStart(made.status);
      // What the investor owes back from an earlier overpayment is taken first
      // (payments/recoveries.ts).
      const owedBack = await offsetFromPayout(tx, {
        investorId: w.investorId,
        currency: w.currency,
        payoutId,
        availableMinor: w.amountMinor,
      });
      if (owedBack === w.amountMinor) return 'skipped';
      await createPayout(tx, {
        id: payoutId,
        purpose: 'scheduled',
        partyId: w.investorId,
        sourceAccount: accountPath.investorAvailable(w.investorId),
        amountMinor: w.amountMinor - owedBack,
        currency: w.currency,
        bankAccountId,
        run: { loanId, installment: n },
      });
      return 'start' as const;
    });
  } catch (err) {
    // The investor spent the distributed money before the run reached them: nothing left to send.
    if (err instanceof LedgerError && err.code === 'INSUFFICIENT_FUNDS') return 'skipped';
    throw err;
  }
}

export interface PayoutRunSummary {
  payouts: number;
  succeeded: number;
  failed: number;
  manualReview: number;
  inFlight: number;
  paidMinor: string;
  fannedOut: boolean;
}

/** Records that every share of the installment has its payout. */
export async function markFannedOut(db: Queryable, loanId: string, n: number): Promise<void> {
  await db.query(
    'UPDATE loan_installments SET payouts_fanned_out_at = coalesce(payouts_fanned_out_at, now()) WHERE loan_id = $1 AND n = $2',
    [loanId, n],
  );
}

export async function payoutRunSummary(
  db: Queryable,
  loanId: string,
  n: number,
): Promise<PayoutRunSummary> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS payouts,
            count(*) FILTER (WHERE status = 'SUCCEEDED')::int AS succeeded,
            count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
            count(*) FILTER (WHERE status = 'MANUAL_REVIEW')::int AS manual_review,
            count(*) FILTER (WHERE status = 'HELD')::int AS in_flight,
            coalesce(sum(amount_minor) FILTER (WHERE status = 'SUCCEEDED'), 0)::text AS paid,
            (SELECT payouts_fanned_out_at IS NOT NULL FROM loan_installments WHERE loan_id = $1 AND n = $2) AS fanned_out
     FROM payouts WHERE loan_id = $1 AND installment = $2`,
    [loanId, n],
  );
  const r = rows[0];
  return {
    payouts: r.payouts,
    succeeded: r.succeeded,
    failed: r.failed,
    manualReview: r.manual_review,
    inFlight: r.in_flight,
    paidMinor: r.paid,
    fannedOut: r.fanned_out === true,
  };
}
