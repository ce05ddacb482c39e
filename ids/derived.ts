// Every id the platform derives from a business fact, one typed function per kind, and never a
// template string at the call site. Each is a pure function of its inputs, so a retried step
// derives the same id (and so the same gateway order number) and can never mint a second one.
// Pure string code, no Node imports: workflow code may use it. Random ids are in new-ids.ts.
//
// The kinds cannot produce each other's ids (test/ids/id-contract.test.ts checks it as a
// property): a scheduled payout id ends in -interest or -principal; a disbursement starts with
// "disb-" and a scheduled payout of a loan named "disb" takes the length-prefixed form; the
// collection ids end in an attempt number.

export type PayoutPart = 'interest' | 'principal';

/** payouts_id_check (migration 0010). */
export const PAYOUT_ID_MAX = 190;

/** Loan ids whose plain form would read as another kind's id ("disb-..." is a disbursement). */
const RESERVED_LOAN_IDS = new Set(['disb']);

function positive(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`${what} must be a positive integer: ${n}`);
}

/**
 * How every scheduled payout id of the loan begins (its order numbers too, when short enough to be
 * the id).
 */
export function scheduledPayoutIdPrefix(loanId: string): string {
  return loanId.includes('-') || RESERVED_LOAN_IDS.has(loanId)
    ? `-${loanId.length}-${loanId}-`
    : `${loanId}-`;
}

/**
 * The id of one share's payout, a pure function of (loan, installment, investor, part) and one to
 * one: the same payout whichever run asks, and never another share's.
 *
 * `{loanId}-{n}-{investorId}-{part}` when the loan id has no dash: the first dash ends the loan
 * id, n runs to the next, the part is the last segment, and the investor id is what is between.
 * A loan id with a dash could be read another way ("a-1" + 2 + "x" is also "a" + 1 + "2-x"), so
 * it is written with its length in front, behind a leading dash no other id starts with:
 * `-{length}-{loanId}-{n}-{investorId}-{part}`. Ids of loans without a dash stay as they were, so
 * payouts made before keep being found by their id.
 */
export function scheduledPayoutId(
  loanId: string,
  n: number,
  investorId: string,
  part: PayoutPart,
): string {
  positive('installment', n);
  const id = `${scheduledPayoutIdPrefix(loanId)}${n}-${investorId}-${part}`;
  if (id.length > PAYOUT_ID_MAX)
    throw new RangeError(
      `payout id of ${loanId} #${n} ${investorId} is longer than ${PAYOUT_ID_MAX}`,
    );
  return id;
}

/**
 * What the id was before loan ids with a dash (or reserved ones) got their length in front: payouts
 * made then are still theirs.
 */
export function legacyScheduledPayoutId(
  loanId: string,
  n: number,
  investorId: string,
  part: PayoutPart,
): string | undefined {
  return loanId.includes('-') || RESERVED_LOAN_IDS.has(loanId)
    ? `${loanId}-${n}-${investorId}-${part}`
    : undefined;
}

/** The payout of a funded loan's net amount to its borrower: one per loan. */
export function disbursementPayoutId(loanId: string): string {
  return `disb-${loanId}`;
}

/**
 * The business id of a repayment collection's attempt; its gateway order number is derived from it
 * once (payments/order-numbers.ts).
 */
export function repaymentCollectionId(
  loanId: string,
  installment: number,
  attempt: number,
): string {
  positive('installment', installment);
  positive('attempt', attempt);
  return `rp-${loanId}-${installment}-${attempt}`;
}

/** The business id of a recovery collection's attempt (a payment asked of the investor). */
export function recoveryCollectionId(recoveryId: string, attempt: number): string {
  positive('attempt', attempt);
  return `rq-${recoveryId}-${attempt}`;
}

/** The recovery an operator opens from a reconciliation exception: one per exception. */
export function exceptionRecoveryId(exceptionId: string): string {
  if (!/^[0-9]{1,18}$/.test(exceptionId))
    throw new RangeError(`exception id must be a number: ${exceptionId}`);
  return `rc-${exceptionId}`;
}
