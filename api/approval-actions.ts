// What each held decision does once a second operator approves it (maker-checker, issue 16 item 2).
// `carryOut` runs in the approving transaction (decisions/approvals.ts): it records the requester's
// decision for the workflow, or opens the recovery or the payout run itself, so an approval never
// commits without its effect. `tell` then runs the workflow's Update with the recorded decision's
// id as its Update ID: an approval retried after a lost answer tells the same decision again.
import type { FastifyRequest } from 'fastify';
import type { Approval, ApprovalAction, CarryOut } from '../decisions/approvals';
import { recordDecisionIn, type DecisionKind } from '../decisions/operator-decisions';
import { DEFAULT_CURRENCY } from '../ledger/currency';
import { parseAmount } from '../ledger/money';
import type { Queryable } from '../ledger/types';
import { addBankAccount, removeBankAccount } from '../payments/bank-accounts';
import { openHeld, type HeldBankAccount } from '../payments/held-bank-account';
import { requestPayoutRunIn } from '../payments/payout-run-requests';
import { openRecoveryByHand } from '../payments/recoveries';
import { writeOffUpdate } from '../workflows/contracts/recovery';
import type { AppContext } from './app';
import { ApiError } from './errors';
import { tellException } from './routes/reconciliations';
import { recoveryAfter, tellRecovery } from './routes/recoveries';
import { tellReview } from './routes/reviews';

interface ApprovedAction {
  carryOut: (tx: Queryable, a: Approval, request: FastifyRequest) => Promise<string>;
  /** What the held request would have answered, once the workflow took the decision. */
  tell: (context: AppContext, a: Approval) => Promise<unknown>;
}

/** Who let it through: kept in the decision row and its audit row (decision.recorded). */
const approvalOf = (a: Approval) => ({ approvalId: a.id, approvedBy: a.decidedBy as string });

/** The requester's decision, recorded for the workflow with the approval that let it through. */
function recordFor(
  tx: Queryable,
  a: Approval,
  request: FastifyRequest,
  kind: DecisionKind,
  payload: Record<string, unknown>,
): Promise<string> {
  return recordDecisionIn(tx, {
    workflowId: a.workflowId,
    kind,
    actor: a.requestedBy,
    payload: { ...payload, ...approvalOf(a) },
    reason: a.reason,
    requestId: request.id,
    needsApproval: true,
  });
}

const str = (a: Approval, field: string) => String(a.payload[field]);
/** The decision the approving transaction recorded, as the Update carries it. */
const recorded =
  (a: Approval) =>
  <T>(tell: (ref: { decisionId: string }) => Promise<T>) =>
    tell({ decisionId: a.effectId as string });

/**
 * The workflow was there when the decision was held: gone now, it ended meanwhile (a notice
 * settled the review, the day closed), and the approved decision changes nothing.
 */
async function endedMeanwhile<T>(code: string, tell: () => Promise<T>): Promise<T> {
  try {
    return await tell();
  } catch (err) {
    if (err instanceof ApiError && err.statusCode === 404)
      throw new ApiError(
        409,
        code,
        'its workflow ended meanwhile: the approved decision changes nothing',
      );
    throw err;
  }
}

/** An exception's adjust or recover (with the investor the operator named, if any). */
function exceptionResolution(action: 'adjust' | 'recover'): ApprovedAction {
  const investor = (a: Approval) =>
    typeof a.payload.investorId === 'string' ? { investorId: a.payload.investorId } : {};
  return {
    carryOut: (tx, a, request) =>
      recordFor(tx, a, request, 'exception.resolve', {
        exceptionId: str(a, 'exceptionId'),
        action,
        ...investor(a),
      }),
    tell: (context, a) =>
      endedMeanwhile('EXCEPTION_REFUSED', () =>
        tellException(
          context,
          {
            channel: str(a, 'channel'),
            date: str(a, 'date'),
            exceptionId: str(a, 'exceptionId'),
            action,
          },
          recorded(a),
        ),
      ),
  };
}

const ACTIONS: Record<ApprovalAction, ApprovedAction> = {
  'review.paid': {
    carryOut: (tx, a, request) => recordFor(tx, a, request, 'review.resolve', { decision: 'paid' }),
    tell: (context, a) =>
      endedMeanwhile('REVIEW_REFUSED', () => tellReview(context, a.workflowId, recorded(a))),
  },
  'recovery.write_off': {
    carryOut: (tx, a, request) => recordFor(tx, a, request, 'recovery.write_off', {}),
    tell: async (context, a) => {
      const id = str(a, 'recoveryId');
      const state = await tellRecovery(context, id, writeOffUpdate, recorded(a));
      return recoveryAfter(context, id, state);
    },
  },
  'exception.adjust': exceptionResolution('adjust'),
  'exception.recover': exceptionResolution('recover'),
  'recovery.open': {
    carryOut: (tx, a, request) => {
      const currency =
        typeof a.payload.currency === 'string' ? a.payload.currency : DEFAULT_CURRENCY;
      return openRecoveryByHand(tx, {
        id: str(a, 'recoveryId'),
        investorId: str(a, 'investorId'),
        amountMinor: parseAmount(str(a, 'amount'), currency),
        currency,
        amount: str(a, 'amount'),
        reason: a.reason,
        actor: a.requestedBy,
        requestId: request.id,
        approval: approvalOf(a),
      });
    },
    tell: (context, a) => recoveryAfter(context, str(a, 'recoveryId')),
  },
  'payout_run.start': {
    carryOut: async (tx, a, request) =>
      (
        await requestPayoutRunIn(tx, {
          loanId: str(a, 'loanId'),
          installment: Number(a.payload.installment),
          actor: a.requestedBy,
          requestId: request.id,
          reason: a.reason,
          approval: approvalOf(a),
        })
      ).decisionId,
    tell: async (_context, a) => ({ workflowId: a.workflowId, status: 'STARTING' }),
  },
  'bank_account.add': {
    carryOut: async (tx, a, request) =>
      (
        await addBankAccount(tx, {
          partyId: str(a, 'partyId'),
          account: openHeld(a.payload.account as HeldBankAccount),
          actor: a.requestedBy,
          requestId: request.id,
        })
      ).bankAccountId,
    tell: async (_context, a) => ({ bankAccountId: a.effectId, status: 'VERIFYING' }),
  },
  'bank_account.remove': {
    carryOut: async (tx, a, request) => {
      const removed = await removeBankAccount(tx, {
        partyId: str(a, 'partyId'),
        bankAccountId: str(a, 'bankAccountId'),
        actor: a.requestedBy,
        requestId: request.id,
      });
      if (!removed.ok)
        throw new ApiError(404, 'BANK_ACCOUNT_NOT_FOUND', 'that bank account is no longer on file');
      return str(a, 'bankAccountId');
    },
    tell: async (_context, a) => ({ bankAccountId: str(a, 'bankAccountId'), status: 'REMOVED' }),
  },
};

/** The approving transaction's part for this request. */
export function carryOutFor(request: FastifyRequest): CarryOut {
  return (tx, a) => ACTIONS[a.action].carryOut(tx, a, request);
}

/** After the approval committed: the workflow told, and the held request's answer. */
export function tellApproved(context: AppContext, a: Approval): Promise<unknown> {
  return ACTIONS[a.action].tell(context, a);
}
