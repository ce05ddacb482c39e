// Every activity's timeouts and retry policy, in one place. A refusal that retrying cannot change
// (a LedgerError, an exception the ledger refuses ...) is final: those error names are tied to
// their classes by the type checker (`LedgerError['name']` is the literal the class declares), so
// a renamed class fails `npm run typecheck` instead of turning a refusal into endless retries.
// Workflow code: only types cross the fence from the classes' modules.
import type { ActivityOptions } from '@temporalio/workflow';
import type { LedgerError } from '../ledger/errors';
import type { RepaymentError } from '../loans/repayments';
import type { ExceptionRefused } from '../reconciliation/resolve';

const LEDGER_ERROR: LedgerError['name'] = 'LedgerError';
const REPAYMENT_ERROR: RepaymentError['name'] = 'RepaymentError';
const EXCEPTION_REFUSED: ExceptionRefused['name'] = 'ExceptionRefused';
/**
 * The ApplicationFailure type the recovery activities raise for a recovery that does not exist
 * (activities/reconciliation.ts).
 */
export const RECOVERY_MISSING = 'RecoveryMissing';

/**
 * Gateway calls: longer than the gateway client's own timeout, so the client classifies a slow
 * answer, not Temporal.
 */
export const GATEWAY_CALL_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
  },
};

/** Ledger writes: idempotent by key, retried; a LedgerError (a refusal) is final. */
export const LEDGER_WRITE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [LEDGER_ERROR],
  },
};

/** The repayment's writes: a missing or not-repaying loan is final too. */
export const REPAYMENT_WRITE_OPTIONS: ActivityOptions = {
  ...LEDGER_WRITE_OPTIONS,
  retry: { ...LEDGER_WRITE_OPTIONS.retry, nonRetryableErrorTypes: [LEDGER_ERROR, REPAYMENT_ERROR] },
};

/** The loan's and the subscription's own writes. */
export const LOAN_WRITE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [LEDGER_ERROR],
  },
};
export const SUBSCRIPTION_WRITE_OPTIONS: ActivityOptions = {
  ...LOAN_WRITE_OPTIONS,
  startToCloseTimeout: '30 seconds',
};

/** Work over a whole loan (every subscription), heartbeating. */
export const LOAN_LONG_RUNNING_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/** Polls until every refund is settled: each retry is one more look. */
export const WAIT_FOR_REFUNDS_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 1.5, maximumInterval: '30 seconds' },
};

/** Polls until a run's payouts are settled: one count query per poll. */
export const AWAIT_SETTLED_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 1.5, maximumInterval: '5 seconds' },
};

/**
 * Reconciliation: a day's statement is streamed, but it can be long; a refused resolution is final.
 */
export const RECON_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: [EXCEPTION_REFUSED],
  },
};
/**
 * Fetching the day's statement heartbeats while it streams: a worker killed mid-fetch is noticed
 * in half a minute, not after the ten minutes of its timeout (chaos seed 6: the day waited out the
 * whole run, so a gateway's lie it would have found stayed unfound).
 */
export const RECON_FETCH_OPTIONS: ActivityOptions = {
  ...RECON_OPTIONS,
  heartbeatTimeout: '30 seconds',
};
export const RECON_MATCHING_OPTIONS: ActivityOptions = {
  ...RECON_OPTIONS,
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '5 minutes',
};

/** A recovery's writes: a recovery that does not exist is final. */
export const RECOVERY_WRITE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [RECOVERY_MISSING],
  },
};

/** Taking an operator decision (a refusal is a result, not an error). */
export const DECISION_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

export const SMOKE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 5 },
};
export const PRUNE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '10 seconds', maximumInterval: '5 minutes', maximumAttempts: 5 },
};
