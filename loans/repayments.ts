// Repayments in Postgres: an installment's collection attempts, its late fee, and its pro-rata
// distribution to the investors (cumulative over the loan's life) in one ledger transaction. No
// Temporal here.
import type { Pool } from 'pg';
import type { BankAccount } from '../gateway/protocol';
import { accountPath, createAccount } from '../ledger/accounts';
import { writeAudit } from '../db/audit';
import { inTransaction } from '../db/pool';
import { allocateCumulative, sum } from '../ledger/money';
import { post, transfer } from '../ledger/transactions';
import type { Leg, Metadata, Queryable } from '../ledger/types';
import { DEFAULT_CHANNEL } from '../payments/channels';
import { orderNoFor } from '../payments/order-numbers';
import { foundCollectionSource, lockReconOrder } from '../reconciliation/order-lock';
import {
  interestFee,
  lateFee,
  loanDayMs,
  queryPolicyFor,
  type GatewayQueryPolicy,
} from './repayment-rules';
import { dueDate } from './schedule';
import { workflowIds } from '../ids/workflow-ids';
import { repaymentCollectionId } from '../ids/derived';

export type RepaymentStatus =
  | 'SCHEDULED'
  | 'DUE'
  | 'COLLECTING'
  | 'OVERDUE'
  | 'MANUAL_REVIEW'
  | 'COLLECTED'
  | 'DISTRIBUTED'
  | 'PAID_OUT';
export type CollectionStatus = 'SUBMITTED' | 'SUCCEEDED' | 'FAILED' | 'MANUAL_REVIEW';

/** Refusals a caller can act on (the API maps them to 404/409). */
export class RepaymentError extends Error {
  /** Final for an activity's retry policy (workflows/retry-policies.ts reads this literal). */
  override readonly name = 'RepaymentError';
  constructor(
    readonly code:
      'LOAN_NOT_FOUND' | 'INSTALLMENT_NOT_FOUND' | 'LOAN_NOT_REPAYING' | 'NOT_DISTRIBUTED',
    message: string,
  ) {
    super(message);
  }
}

/** What a Repayment workflow needs to know of its installment (plain data for the history). */
export interface RepaymentTerms {
  loanId: string;
  n: number;
  borrowerId: string;
  dueAt: string;
  /**
   * A day of the loan's calendar, in ms: how long a failed collection waits before the next try.
   */
  dayMs: number;
  status: RepaymentStatus;
  /** For the collection and the payouts of a loan on a compressed calendar; else the default. */
  queryPolicy?: GatewayQueryPolicy;
}

export interface Collection {
  orderNo: string;
  loanId: string;
  n: number;
  attempt: number;
  amountMinor: bigint;
  currency: string;
  channel: string;
  /** A collection made before 0032 keeps the account it was made with. */
  bankAccount: BankAccount | null;
  /** The borrower's verified account on file it is collected from; opened when it is sent. */
  bankAccountId: string | null;
  status: CollectionStatus;
}

const REPAYABLE_LOAN = ['DISBURSED', 'REPAYING', 'CLOSED'];
const COLLECTIBLE = ['DUE', 'COLLECTING', 'OVERDUE', 'MANUAL_REVIEW'];

/** Checks the installment can be repaid and moves it from SCHEDULED to DUE (once). */
export async function openRepayment(
  db: Queryable,
  loanId: string,
  n: number,
): Promise<RepaymentTerms> {
  const { rows } = await db.query(
    `SELECT l.status AS loan_status, l.borrower_id, l.funded_at, l.subscription_deadline, l.installment_interval_seconds, i.status
     FROM loans l LEFT JOIN loan_installments i ON i.loan_id = l.id AND i.n = $2 WHERE l.id = $1`,
    [loanId, n],
  );
  const r = rows[0];
  if (!r) throw new RepaymentError('LOAN_NOT_FOUND', `loan ${loanId} does not exist`);
  if (!r.status)
    throw new RepaymentError('INSTALLMENT_NOT_FOUND', `loan ${loanId} has no installment ${n}`);
  if (!REPAYABLE_LOAN.includes(r.loan_status))
    throw new RepaymentError('LOAN_NOT_REPAYING', `loan ${loanId} is ${r.loan_status}`);
  await db.query(
    `UPDATE loan_installments SET status = 'DUE' WHERE loan_id = $1 AND n = $2 AND status = 'SCHEDULED'`,
    [loanId, n],
  );
  const interval: number | null = r.installment_interval_seconds;
  return {
    loanId,
    n,
    borrowerId: r.borrower_id,
    dueAt: dueDate(r.funded_at ?? r.subscription_deadline, n, interval ?? undefined).toISOString(),
    dayMs: loanDayMs(interval),
    status: r.status === 'SCHEDULED' ? 'DUE' : r.status,
    ...(queryPolicyFor(interval) ? { queryPolicy: queryPolicyFor(interval) } : {}),
  };
}

function toCollection(r: Record<string, never>): Collection {
  return {
    orderNo: r.order_no,
    loanId: r.loan_id,
    n: r.n,
    attempt: r.attempt,
    amountMinor: BigInt(r.amount_minor),
    currency: r.currency,
    channel: r.channel,
    bankAccount: r.bank_account,
    bankAccountId: r.bank_account_id,
    status: r.status,
  };
}

export async function getCollection(
  db: Queryable,
  orderNo: string,
): Promise<Collection | undefined> {
  const { rows } = await db.query('SELECT * FROM repayment_collections WHERE order_no = $1', [
    orderNo,
  ]);
  return rows[0] ? toCollection(rows[0]) : undefined;
}

/**
 * Collection attempt `attempt` of the installment: its order (principal + interest + any late
 * fee, from the borrower's verified bank account on file; with none, an order naming no account,
 * never sent: NO_BANK_ACCOUNT), created once. Returns it as first created.
 */
export async function openCollection(
  pool: Pool,
  loanId: string,
  n: number,
  attempt: number,
): Promise<Collection> {
  return inTransaction(pool, async (tx) => {
    const { rows } = await tx.query(
      `SELECT i.principal_minor, i.interest_minor, i.late_fee_minor, i.status, l.currency,
              verified_account_of(l.borrower_id, 0) AS bank_account_id
       FROM loan_installments i JOIN loans l ON l.id = i.loan_id
       WHERE i.loan_id = $1 AND i.n = $2 FOR UPDATE OF i`,
      [loanId, n],
    );
    const i = rows[0];
    if (!i)
      throw new RepaymentError('INSTALLMENT_NOT_FOUND', `loan ${loanId} has no installment ${n}`);
    const orderNo = orderNoFor(repaymentCollectionId(loanId, n, attempt), 'rp');
    const existing = await getCollection(tx, orderNo);
    if (existing) return existing;
    const amount = BigInt(i.principal_minor) + BigInt(i.interest_minor) + BigInt(i.late_fee_minor);
    await tx.query(
      `INSERT INTO repayment_collections (order_no, loan_id, n, attempt, amount_minor, currency, channel, bank_account_id, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'SUBMITTED')`,
      [
        orderNo,
        loanId,
        n,
        attempt,
        amount.toString(),
        i.currency,
        DEFAULT_CHANNEL,
        i.bank_account_id,
      ],
    );
    await tx.query(
      `UPDATE loan_installments SET status = 'COLLECTING' WHERE loan_id = $1 AND n = $2 AND status = ANY($3)`,
      [loanId, n, COLLECTIBLE],
    );
    return (await getCollection(tx, orderNo)) as Collection;
  });
}

/**
 * A collection the gateway did not execute (or an operator says so), or one waiting for an
 * operator.
 */
export async function setCollectionStatus(
  db: Queryable,
  orderNo: string,
  status: 'FAILED' | 'MANUAL_REVIEW',
): Promise<void> {
  const c = await getCollection(db, orderNo);
  if (!c) throw new Error(`collection ${orderNo} does not exist`);
  await db.query(
    `UPDATE repayment_collections SET status = $2, settled_at = CASE WHEN $2 = 'FAILED' THEN now() END
                  WHERE order_no = $1 AND status IN ('SUBMITTED', 'MANUAL_REVIEW')`,
    [orderNo, status],
  );
  await db.query(
    `UPDATE loan_installments SET status = $3 WHERE loan_id = $1 AND n = $2 AND status = ANY($4)`,
    [c.loanId, c.n, status === 'FAILED' ? 'DUE' : 'MANUAL_REVIEW', COLLECTIBLE],
  );
}

/**
 * The due date passed unpaid: OVERDUE, and the late fee is charged, once (the next collection
 * attempt asks for it too). Returns the late fee in minor units.
 */
export async function markOverdue(db: Queryable, loanId: string, n: number): Promise<bigint> {
  const { rows } = await db.query(
    `SELECT principal_minor, interest_minor FROM loan_installments WHERE loan_id = $1 AND n = $2`,
    [loanId, n],
  );
  if (!rows[0])
    throw new RepaymentError('INSTALLMENT_NOT_FOUND', `loan ${loanId} has no installment ${n}`);
  const fee = lateFee(BigInt(rows[0].principal_minor) + BigInt(rows[0].interest_minor));
  const { rows: updated } = await db.query(
    `UPDATE loan_installments SET status = 'OVERDUE', late_fee_minor = CASE WHEN late_fee_minor = 0 THEN $3 ELSE late_fee_minor END
     WHERE loan_id = $1 AND n = $2 AND status = ANY($4) RETURNING late_fee_minor`,
    [loanId, n, fee.toString(), COLLECTIBLE],
  );
  return updated[0] ? BigInt(updated[0].late_fee_minor) : 0n;
}

/**
 * The borrower's money arrived (verified by the gateway, or an operator says so): gateway clearing
 * → loan:{id}:repayment, once, and the installment is COLLECTED. Run it in a transaction.
 */
export async function recordCollection(
  tx: Queryable,
  orderNo: string,
  evidence: Metadata,
): Promise<string> {
  const c = await getCollection(tx, orderNo);
  if (!c) throw new Error(`collection ${orderNo} does not exist`);
  return book(tx, c, accountPath.gatewayClearing(c.channel), evidence);
}

/** The ledger key of attempt `attempt`'s collection: one per attempt, whoever books it. */
const collectKey = (c: Collection) => `repayment:${c.loanId}:${c.n}:collect:${c.attempt}`;

async function book(
  tx: Queryable,
  c: Collection,
  from: string,
  evidence: Metadata,
): Promise<string> {
  await createAccount(tx, { path: accountPath.loanRepayment(c.loanId), currency: c.currency });
  const result = await transfer(tx, {
    idempotencyKey: collectKey(c),
    from,
    to: accountPath.loanRepayment(c.loanId),
    amount: c.amountMinor,
    currency: c.currency,
    metadata: {
      loanId: c.loanId,
      installment: c.n,
      orderNo: c.orderNo,
      workflowId: workflowIds.repayment(c.loanId, c.n),
      ...evidence,
    },
  });
  await tx.query(
    `UPDATE repayment_collections SET status = 'SUCCEEDED', settled_at = now() WHERE order_no = $1 AND status <> 'SUCCEEDED'`,
    [c.orderNo],
  );
  await tx.query(
    `UPDATE loan_installments SET status = 'COLLECTED', collected_minor = $3, collection_transaction_id = $4
     WHERE loan_id = $1 AND n = $2 AND status = ANY($5)`,
    [c.loanId, c.n, c.amountMinor.toString(), result.transactionId, COLLECTIBLE],
  );
  return result.transactionId;
}

export interface FoundCollection {
  transactionId: string;
  /**
   * Where the money was taken from: gateway:{channel}:clearing, or platform:suspense when a
   * reconciliation had parked it there.
   */
  from: string;
  /** The late fee charged for this attempt's failure and taken back (0 when none was). */
  lateFeeWaivedMinor: bigint;
}

/**
 * A collection recorded FAILED that the gateway, asked again before a new attempt replaced it,
 * says it executed (the gateway lied with a definitive code): booked as that attempt's success
 * would have been (its key, its metadata), from wherever its money sits now (the clearing
 * account, or platform:suspense if a reconciliation adjusted it meanwhile;
 * reconciliation/order-lock.ts), and the installment is COLLECTED. The late fee is what the
 * collecting order carried: one charged for this attempt's own failure is taken back, since the
 * borrower paid on time (docs/repayments.md). Run it in a transaction; safe to run twice.
 */
export async function recordFoundCollection(
  tx: Queryable,
  orderNo: string,
  evidence: Metadata,
): Promise<FoundCollection> {
  await lockReconOrder(tx, orderNo);
  const { rows } = await tx.query(
    'SELECT * FROM repayment_collections WHERE order_no = $1 FOR UPDATE',
    [orderNo],
  );
  if (!rows[0]) throw new Error(`collection ${orderNo} does not exist`);
  const c = toCollection(rows[0]);
  const from = await foundCollectionSource(tx, {
    orderNo,
    channel: c.channel,
    amountMinor: c.amountMinor,
    currency: c.currency,
    ownKey: collectKey(c),
  });
  const {
    rows: [i],
  } = await tx.query(
    'SELECT principal_minor, interest_minor, late_fee_minor, status FROM loan_installments WHERE loan_id = $1 AND n = $2 FOR UPDATE',
    [c.loanId, c.n],
  );
  const carried = c.amountMinor - BigInt(i.principal_minor) - BigInt(i.interest_minor);
  const lateFee = carried > 0n ? carried : 0n;
  const collectible = COLLECTIBLE.includes(i.status);
  const waived =
    collectible && BigInt(i.late_fee_minor) > lateFee ? BigInt(i.late_fee_minor) - lateFee : 0n;
  const transactionId = await book(tx, c, from, evidence);
  if (collectible)
    await tx.query(
      'UPDATE loan_installments SET late_fee_minor = $3 WHERE loan_id = $1 AND n = $2',
      [c.loanId, c.n, lateFee.toString()],
    );
  const workflowId = workflowIds.repayment(c.loanId, c.n);
  await writeAudit(tx, {
    actor: 'system:repayment',
    action: 'repayment.collection_found',
    subject: workflowId,
    reason:
      'the gateway answered FAILED with a definitive code, and asked again before a new attempt, says it executed the order',
    details: {
      orderNo,
      attempt: c.attempt,
      amountMinor: c.amountMinor.toString(),
      from,
      lateFeeWaivedMinor: waived.toString(),
      transactionId,
    },
    idempotencyKey: `repayment.collection_found:${orderNo}`,
  });
  return { transactionId, from, lateFeeWaivedMinor: waived };
}

export interface DistributionTotals {
  investors: number;
  interestMinor: string;
  principalMinor: string;
  platformFeeMinor: string;
  lateFeeMinor: string;
}

/**
 * One ledger transaction takes the collected installment out of loan:{id}:repayment: the platform's
 * fee on the interest and the late fee to platform:fees, the rest to every investor by holding.
 * Principal and interest are each split cumulatively (ledger/money.ts allocateCumulative): each
 * investor's share of what the loan has distributed so far, this installment included, less what
 * repayment_shares recorded for them, so over the loan's life each gets back exactly their
 * principal and their interest to within a minor unit. The shares are recorded for the payout run.
 * Safe to run twice: the second run returns the first's totals.
 */
export async function distributeRepayment(
  pool: Pool,
  loanId: string,
  n: number,
): Promise<DistributionTotals> {
  return inTransaction(pool, async (tx) => {
    // One distribution of a loan at a time: each reads what the others recorded.
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `distribute:${loanId}`,
    ]);
    const { rows } = await tx.query(
      `SELECT i.principal_minor, i.interest_minor, i.late_fee_minor, i.collected_minor, i.status, l.currency, l.interest_fee_rate::text
       FROM loan_installments i JOIN loans l ON l.id = i.loan_id WHERE i.loan_id = $1 AND i.n = $2 FOR UPDATE OF i`,
      [loanId, n],
    );
    const i = rows[0];
    if (!i)
      throw new RepaymentError('INSTALLMENT_NOT_FOUND', `loan ${loanId} has no installment ${n}`);
    if (i.status === 'DISTRIBUTED' || i.status === 'PAID_OUT')
      return distributionTotals(tx, loanId, n);
    if (i.status !== 'COLLECTED')
      throw new RepaymentError(
        'NOT_DISTRIBUTED',
        `installment ${n} of ${loanId} is ${i.status}, not COLLECTED`,
      );

    const split = await splitInstallment(tx, loanId, i);
    const result = await post(tx, {
      idempotencyKey: `repayment:${loanId}:${n}:distribute`,
      legs: distributionLegs(loanId, i, split),
      metadata: {
        loanId,
        installment: n,
        workflowId: workflowIds.repayment(loanId, n),
        investors: split.holdings.length,
        platformFeeMinor: split.platformFee.toString(),
        lateFeeMinor: split.late.toString(),
      },
    });
    await recordDistribution(tx, loanId, n, split, result.transactionId);
    return distributionTotals(tx, loanId, n);
  });
}

/** The installment row distributeRepayment reads (locked FOR UPDATE), once it is COLLECTED. */
interface CollectedInstallment {
  principal_minor: string;
  interest_minor: string;
  collected_minor: string;
  currency: string;
  interest_fee_rate: string;
}

/** How one collected installment divides: the platform's part and each investor's. */
interface InstallmentSplit {
  /** The late fee the collected order carried. */
  late: bigint;
  platformFee: bigint;
  holdings: Investor[];
  weights: bigint[];
  /** Per investor, in the order of `holdings`. */
  interestParts: bigint[];
  principalParts: bigint[];
}

/**
 * Splits the installment cumulatively (allocateCumulative) over the loan's investors by holding,
 * from what repayment_shares recorded for them and what the loan distributes over its life.
 */
async function splitInstallment(
  tx: Queryable,
  loanId: string,
  i: CollectedInstallment,
): Promise<InstallmentSplit> {
  const principal = BigInt(i.principal_minor);
  const interest = BigInt(i.interest_minor);
  // the late fee the collected order carried
  const late = BigInt(i.collected_minor) - principal - interest;
  const platformFee = interestFee(interest, i.interest_fee_rate);
  const holdings = await investorsOf(tx, loanId);
  const weights = holdings.map((h) => h.holdingMinor);
  const life = await lifeTotals(tx, loanId, i.interest_fee_rate);
  const interestParts = allocateCumulative({
    amountMinor: interest - platformFee,
    weights,
    paidMinor: holdings.map((h) => h.paidInterestMinor),
    lifeTotalMinor: life.investorsInterestMinor,
  });
  const principalParts = allocateCumulative({
    amountMinor: principal,
    weights,
    paidMinor: holdings.map((h) => h.paidPrincipalMinor),
    lifeTotalMinor: life.principalMinor,
  });
  return { late, platformFee, holdings, weights, interestParts, principalParts };
}

/**
 * The distribution's legs: the collected amount out of loan:{id}:repayment, the fees to
 * platform:fees, each investor's parts to their available balance (no zero legs).
 */
function distributionLegs(loanId: string, i: CollectedInstallment, split: InstallmentSplit): Leg[] {
  const { late, platformFee, holdings, interestParts, principalParts } = split;
  const legs: Leg[] = [
    {
      account: accountPath.loanRepayment(loanId),
      direction: 'debit',
      amount: BigInt(i.collected_minor),
      currency: i.currency,
    },
  ];
  if (platformFee + late > 0n)
    legs.push({
      account: accountPath.platformFees(),
      direction: 'credit',
      amount: platformFee + late,
      currency: i.currency,
    });
  holdings.forEach((h, k) => {
    const amount = interestParts[k] + principalParts[k];
    if (amount > 0n)
      legs.push({
        account: accountPath.investorAvailable(h.investorId),
        direction: 'credit',
        amount,
        currency: i.currency,
      });
  });
  return legs;
}

/**
 * After the posting, in the same transaction: each investor's shares for the payout run, and the
 * installment DISTRIBUTED with its transaction.
 */
async function recordDistribution(
  tx: Queryable,
  loanId: string,
  n: number,
  split: InstallmentSplit,
  transactionId: string,
): Promise<void> {
  const { holdings, weights, interestParts, principalParts } = split;
  await tx.query(
    `INSERT INTO repayment_shares (loan_id, n, investor_id, holding_minor, interest_minor, principal_minor)
       SELECT $1, $2, * FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::bigint[])`,
    [
      loanId,
      n,
      holdings.map((h) => h.investorId),
      weights.map(String),
      interestParts.map(String),
      principalParts.map(String),
    ],
  );
  await tx.query(
    `UPDATE loan_installments SET status = 'DISTRIBUTED', distribution_transaction_id = $3 WHERE loan_id = $1 AND n = $2`,
    [loanId, n, transactionId],
  );
}

interface Investor {
  investorId: string;
  holdingMinor: bigint;
  /** What repayment_shares recorded for them over the installments distributed before. */
  paidPrincipalMinor: bigint;
  paidInterestMinor: bigint;
}

/** The loan's investors by id, with their holdings and what they were already paid. */
async function investorsOf(db: Queryable, loanId: string): Promise<Investor[]> {
  const { rows } = await db.query(
    `SELECT h.investor_id, h.holding::text, coalesce(p.principal, 0)::text AS principal, coalesce(p.interest, 0)::text AS interest
     FROM (SELECT investor_id, sum(amount_minor) AS holding FROM subscriptions WHERE loan_id = $1 AND status = 'CONFIRMED' GROUP BY investor_id) h
     LEFT JOIN (SELECT investor_id, sum(principal_minor) AS principal, sum(interest_minor) AS interest FROM repayment_shares
                WHERE loan_id = $1 GROUP BY investor_id) p ON p.investor_id = h.investor_id
     ORDER BY h.investor_id`,
    [loanId],
  );
  if (rows.length === 0) throw new Error(`loan ${loanId} has no confirmed subscriptions`);
  return rows.map((r) => ({
    investorId: r.investor_id,
    holdingMinor: BigInt(r.holding),
    paidPrincipalMinor: BigInt(r.principal),
    paidInterestMinor: BigInt(r.interest),
  }));
}

/**
 * What the loan's schedule distributes over its life: all the principal, and the interest less the
 * platform's fee on each installment.
 */
async function lifeTotals(
  db: Queryable,
  loanId: string,
  interestFeeRate: string,
): Promise<{ principalMinor: bigint; investorsInterestMinor: bigint }> {
  const { rows } = await db.query<{ principal_minor: string; interest_minor: string }>(
    'SELECT principal_minor::text, interest_minor::text FROM loan_installments WHERE loan_id = $1',
    [loanId],
  );
  return {
    principalMinor: sum(rows.map((r) => BigInt(r.principal_minor))),
    investorsInterestMinor: sum(
      rows.map(
        (r) => BigInt(r.interest_minor) - interestFee(BigInt(r.interest_minor), interestFeeRate),
      ),
    ),
  };
}

async function distributionTotals(
  db: Queryable,
  loanId: string,
  n: number,
): Promise<DistributionTotals> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS investors, coalesce(sum(s.interest_minor), 0)::text AS interest, coalesce(sum(s.principal_minor), 0)::text AS principal,
            (SELECT metadata FROM ledger_transactions WHERE idempotency_key = $3) AS metadata
     FROM repayment_shares s WHERE s.loan_id = $1 AND s.n = $2`,
    [loanId, n, `repayment:${loanId}:${n}:distribute`],
  );
  const r = rows[0];
  return {
    investors: r.investors,
    interestMinor: r.interest,
    principalMinor: r.principal,
    platformFeeMinor: r.metadata?.platformFeeMinor ?? '0',
    lateFeeMinor: r.metadata?.lateFeeMinor ?? '0',
  };
}

export async function setInstallmentStatus(
  db: Queryable,
  loanId: string,
  n: number,
  from: RepaymentStatus,
  to: RepaymentStatus,
): Promise<void> {
  await db.query(
    'UPDATE loan_installments SET status = $4 WHERE loan_id = $1 AND n = $2 AND status = $3',
    [loanId, n, from, to],
  );
}
