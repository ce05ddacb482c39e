// Loans and subscriptions in Postgres: creation with the schedule, the reservation (one SQL call),
// the loan's decision, and each subscription's confirm or refund. No Temporal here.
import type Decimal from 'decimal.js';
import { enqueueStart } from '../outbox/enqueue';
import { accountPath } from '../ledger/accounts';
import { contentHash } from '../ledger/canonical-json';
import { LedgerError } from '../ledger/errors';
import { postPending, transferLegs, voidPending } from '../ledger/transactions';
import { createAccount } from '../ledger/accounts';
import type { Pool } from 'pg';
import { inTransaction } from '../db/pool';
import type { Queryable } from '../ledger/types';
import { buildSchedule, dueDate, type RepaymentMethod } from './schedule';
import { workflowIds } from '../ids/workflow-ids';
import type { LoanState as LoanStatus } from '../workflows/contracts/loan';
import type { SubscriptionState as SubscriptionStatus } from '../workflows/contracts/subscription';

/**
 * A loan's and a subscription's status in Postgres are the states their workflows report: declared
 * once, in workflows/contracts/.
 */
export type { LoanState as LoanStatus } from '../workflows/contracts/loan';
export type { SubscriptionState as SubscriptionStatus } from '../workflows/contracts/subscription';

/** The loan statuses in which its subscriptions are confirmed, or refunded. */
const DECIDED_FUNDED: ReadonlySet<LoanStatus> = new Set([
  'FUNDED',
  'DISBURSED',
  'REPAYING',
  'CLOSED',
  'DEFAULTED',
]);
const DECIDED_UNFUNDED: ReadonlySet<LoanStatus> = new Set(['EXPIRED']);

/** Balance rows of a loan's escrow: the rush credits it from thousands of investors at once. */
export const ESCROW_BALANCE_SLOTS = 16;

export interface NewLoan {
  id: string;
  borrowerId: string;
  currency: string;
  principalMinor: bigint;
  annualRate: Decimal;
  termMonths: number;
  repaymentMethod: RepaymentMethod;
  subscriptionDeadline: Date;
  installmentIntervalSeconds?: number;
  feeRate: Decimal;
  /** The platform's share of each installment's interest; default 0. */
  interestFeeRate?: Decimal;
}

/**
 * Inserts the loan, its schedule and escrow account, and asks for its workflow. Run inside a
 * transaction.
 */
export async function createLoan(tx: Queryable, loan: NewLoan): Promise<void> {
  const schedule = buildSchedule(
    loan.principalMinor,
    loan.annualRate,
    loan.termMonths,
    loan.repaymentMethod,
  );
  await tx.query(
    `INSERT INTO loans (id, borrower_id, currency, principal_minor, remaining_minor, annual_rate, term_months, repayment_method,
                        subscription_deadline, installment_interval_seconds, fee_rate, interest_fee_rate, status)
     VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $11, 'OPEN')`,
    [
      loan.id,
      loan.borrowerId,
      loan.currency,
      loan.principalMinor.toString(),
      loan.annualRate.toString(),
      loan.termMonths,
      loan.repaymentMethod,
      loan.subscriptionDeadline,
      loan.installmentIntervalSeconds ?? null,
      loan.feeRate.toString(),
      (loan.interestFeeRate ?? 0).toString(),
    ],
  );
  await tx.query(
    `INSERT INTO loan_installments (loan_id, n, principal_minor, interest_minor)
     SELECT $1, n, p, i FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS s(n, p, i)`,
    [
      loan.id,
      schedule.map((s) => s.n),
      schedule.map((s) => s.principalMinor.toString()),
      schedule.map((s) => s.interestMinor.toString()),
    ],
  );
  await createAccount(tx, {
    path: accountPath.loanEscrow(loan.id),
    currency: loan.currency,
    balanceSlots: ESCROW_BALANCE_SLOTS,
  });
  await enqueueStart(tx, 'loanWorkflow', workflowIds.loan(loan.id), { loanId: loan.id });
}

export interface LoanView {
  id: string;
  borrowerId: string;
  currency: string;
  status: LoanStatus;
  principalMinor: bigint;
  remainingMinor: bigint;
  annualRate: string;
  termMonths: number;
  repaymentMethod: RepaymentMethod;
  subscriptionDeadline: Date;
  installmentIntervalSeconds: number | null;
  feeRate: string;
  fundedAt: Date | null;
  schedule: {
    n: number;
    dueDate: Date;
    principalMinor: bigint;
    interestMinor: bigint;
    status: string;
  }[];
}

export async function getLoan(db: Queryable, id: string): Promise<LoanView | undefined> {
  const { rows } = await db.query(
    `SELECT id, borrower_id, currency, status, principal_minor, remaining_minor, annual_rate::text, term_months, repayment_method,
            subscription_deadline, installment_interval_seconds, fee_rate::text, funded_at
     FROM loans WHERE id = $1`,
    [id],
  );
  if (rows.length === 0) return undefined;
  const r = rows[0];
  const { rows: installments } = await db.query(
    'SELECT n, principal_minor, interest_minor, status FROM loan_installments WHERE loan_id = $1 ORDER BY n',
    [id],
  );
  // Due dates count from funding; until then, from the subscription deadline.
  const start: Date = r.funded_at ?? r.subscription_deadline;
  return {
    id: r.id,
    borrowerId: r.borrower_id,
    currency: r.currency,
    status: r.status,
    principalMinor: BigInt(r.principal_minor),
    remainingMinor: BigInt(r.remaining_minor),
    annualRate: r.annual_rate,
    termMonths: r.term_months,
    repaymentMethod: r.repayment_method,
    subscriptionDeadline: r.subscription_deadline,
    installmentIntervalSeconds: r.installment_interval_seconds,
    feeRate: r.fee_rate,
    fundedAt: r.funded_at,
    schedule: installments.map((i) => ({
      n: i.n,
      dueDate: dueDate(start, i.n, r.installment_interval_seconds ?? undefined),
      principalMinor: BigInt(i.principal_minor),
      interestMinor: BigInt(i.interest_minor),
      status: i.status,
    })),
  };
}

export interface Reservation {
  subscriptionId: string;
  loanId: string;
  investorId: string;
  amountMinor: bigint;
  currency: string;
}

/**
 * The ledger hold a reservation writes: key, content hash (as ledger hold() computes it) and legs,
 * as the SQL functions take them.
 */
function reservationHold(r: Reservation) {
  const legs = transferLegs({
    from: accountPath.investorAvailable(r.investorId),
    to: accountPath.loanEscrow(r.loanId),
    amount: r.amountMinor,
    currency: r.currency,
  });
  const metadata = {
    subscriptionId: r.subscriptionId,
    loanId: r.loanId,
    workflowId: workflowIds.subscription(r.subscriptionId),
  };
  return {
    key: `subscription:${r.subscriptionId}:hold`,
    hash: contentHash({ op: 'hold', legs, metadata, expiresAt: null }),
    legs: JSON.stringify(
      legs.map((l) => ({
        account: l.account,
        direction: l.direction === 'debit' ? 'D' : 'C',
        amount: l.amount.toString(),
        currency: l.currency,
      })),
    ),
    metadata: JSON.stringify(metadata),
  };
}

/** FUNDED when fully reserved, EXPIRED when the deadline passed first; otherwise still OPEN. */
export async function decideLoan(
  db: Queryable,
  loanId: string,
  deadlinePassed: boolean,
): Promise<LoanStatus> {
  const { rows } = await db.query<{ o_status: LoanStatus }>(
    'SELECT o_status FROM loan_decide($1, $2)',
    [loanId, deadlinePassed],
  );
  return rows[0].o_status;
}

export async function setLoanStatus(
  db: Queryable,
  loanId: string,
  from: LoanStatus,
  to: LoanStatus,
): Promise<void> {
  await db.query(
    `UPDATE loans SET status = $3, disbursed_at = CASE WHEN $3 = 'DISBURSED' THEN now() ELSE disbursed_at END
                  WHERE id = $1 AND status = $2`,
    [loanId, from, to],
  );
}

export interface SubscriptionRow {
  id: string;
  loanId: string;
  investorId: string;
  amountMinor: bigint;
  currency: string;
  status: SubscriptionStatus;
  holdTransactionId: string;
  createdAt: Date;
}

function toSubscription(r: Record<string, unknown>): SubscriptionRow {
  return {
    id: r.id as string,
    loanId: r.loan_id as string,
    investorId: r.investor_id as string,
    amountMinor: BigInt(r.amount_minor as string),
    currency: r.currency as string,
    status: r.status as SubscriptionStatus,
    holdTransactionId: String(r.hold_transaction_id),
    createdAt: r.created_at as Date,
  };
}

export async function getSubscription(
  db: Queryable,
  id: string,
): Promise<SubscriptionRow | undefined> {
  const { rows } = await db.query('SELECT * FROM subscriptions WHERE id = $1', [id]);
  return rows[0] ? toSubscription(rows[0]) : undefined;
}

/** A page of a loan's subscriptions in a status, by id. */
export async function listSubscriptions(
  db: Queryable,
  loanId: string,
  status: SubscriptionStatus,
  after: string,
  limit: number,
): Promise<SubscriptionRow[]> {
  const { rows } = await db.query(
    'SELECT * FROM subscriptions WHERE loan_id = $1 AND status = $2 AND id > $3 ORDER BY id LIMIT $4',
    [loanId, status, after, limit],
  );
  return rows.map(toSubscription);
}

/**
 * Settles a reservation: `confirm` posts the hold into escrow, `refund` voids it. One transaction;
 * safe to run twice (ledger keys per subscription; the status moves only from RESERVED).
 */
export async function settleSubscription(
  db: Queryable,
  id: string,
  outcome: 'confirm' | 'refund',
): Promise<SubscriptionStatus> {
  const sub = await getSubscription(db, id);
  if (!sub) throw new LedgerError('INVALID_INPUT', `subscription ${id} does not exist`);
  const target: SubscriptionStatus = outcome === 'confirm' ? 'CONFIRMED' : 'REFUNDED';
  if (sub.status !== 'RESERVED') return sub.status;
  // Only the loan's own decision settles it: a decision its status does not show (a forged
  // loanDecided signal) leaves the reservation as it is.
  const {
    rows: [loan],
  } = await db.query<{ status: LoanStatus }>('SELECT status FROM loans WHERE id = $1', [
    sub.loanId,
  ]);
  if (!loan || !(outcome === 'confirm' ? DECIDED_FUNDED : DECIDED_UNFUNDED).has(loan.status))
    return 'RESERVED';
  const metadata = {
    subscriptionId: id,
    loanId: sub.loanId,
    workflowId: workflowIds.subscription(id),
  };
  if (outcome === 'confirm')
    await postPending(db, {
      idempotencyKey: `subscription:${id}:confirm`,
      pendingId: sub.holdTransactionId,
      metadata,
    });
  else
    await voidPending(db, {
      idempotencyKey: `subscription:${id}:refund`,
      pendingId: sub.holdTransactionId,
      metadata,
    });
  await db.query(
    `UPDATE subscriptions SET status = $2, decided_at = now() WHERE id = $1 AND status = 'RESERVED'`,
    [id, target],
  );
  return target;
}

/**
 * The investor takes a reservation back while the loan is still OPEN: the hold is voided and the
 * amount returns to the loan, in one transaction, locking in the reservation's order (ledger rows,
 * then the loan row), so it cannot deadlock with the rush. Once the loan has decided, the
 * decision stands: nothing changes and the status is returned as it is.
 */
export async function cancelSubscription(pool: Pool, id: string): Promise<SubscriptionStatus> {
  const refused = Symbol('refused');
  try {
    return await inTransaction(pool, async (tx) => {
      const { rows } = await tx.query('SELECT * FROM subscriptions WHERE id = $1 FOR UPDATE', [id]);
      if (!rows[0]) throw new LedgerError('INVALID_INPUT', `subscription ${id} does not exist`);
      const sub = toSubscription(rows[0]);
      if (sub.status !== 'RESERVED') return sub.status;
      const metadata = {
        subscriptionId: id,
        loanId: sub.loanId,
        workflowId: workflowIds.subscription(id),
        reason: 'cancelled by the investor',
      };
      await voidPending(tx, {
        idempotencyKey: `subscription:${id}:cancel`,
        pendingId: sub.holdTransactionId,
        metadata,
      });
      const back = await tx.query(
        `UPDATE loans SET remaining_minor = remaining_minor + $2 WHERE id = $1 AND status = 'OPEN'`,
        [sub.loanId, sub.amountMinor.toString()],
      );
      if (back.rowCount === 0) throw refused; // decided meanwhile: roll the void back
      await tx.query(
        `UPDATE subscriptions SET status = 'CANCELLED', decided_at = now() WHERE id = $1`,
        [id],
      );
      return 'CANCELLED' as const;
    });
  } catch (err) {
    if (err === refused) return 'RESERVED';
    throw err;
  }
}

export async function countSubscriptions(
  db: Queryable,
  loanId: string,
): Promise<Record<SubscriptionStatus, number>> {
  const { rows } = await db.query<{ status: SubscriptionStatus; n: number }>(
    'SELECT status, count(*)::int AS n FROM subscriptions WHERE loan_id = $1 GROUP BY status',
    [loanId],
  );
  const counts = { RESERVED: 0, CONFIRMED: 0, REFUNDED: 0, CANCELLED: 0 };
  for (const r of rows) counts[r.status] = r.n;
  return counts;
}

export interface IdempotentReservation extends Reservation {
  scope: string;
  idempotencyKey: string;
  requestHash: string;
  /** The response stored and returned if the reservation succeeds. */
  created: unknown;
}

/**
 * The rush path: the Idempotency-Key check, the stored response and the reservation in one SQL
 * statement and one transaction (db/migrations/0006-rush-path.sql). Returns the response to send.
 */
export async function reserveSubscriptionIdempotently(
  db: Queryable,
  r: IdempotentReservation,
): Promise<{ statusCode: number; body: unknown; replayed: boolean }> {
  const hold = reservationHold(r);
  const { rows } = await db.query<{ o_status: number; o_body: unknown; o_replayed: boolean }>(
    'SELECT o_status, o_body, o_replayed FROM api_subscribe($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)',
    [
      r.scope,
      r.idempotencyKey,
      r.requestHash,
      JSON.stringify(r.created),
      r.subscriptionId,
      r.loanId,
      r.investorId,
      r.amountMinor.toString(),
      r.currency,
      hold.key,
      hold.hash,
      hold.legs,
      hold.metadata,
    ],
  );
  return { statusCode: rows[0].o_status, body: rows[0].o_body, replayed: rows[0].o_replayed };
}
