// Loans and subscriptions (API.md). The subscription is the rush path: one SQL call commits the
// reservation and its outbox row; nothing here waits on Temporal.
import type Decimal from 'decimal.js';
import { documentedObject } from '../contract';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { DEFAULT_CURRENCY } from '../../ledger/currency';
import { formatAmount, MoneyDecimal, parseAmount, parseRate } from '../../ledger/money';
import { REPAYMENT_METHODS, type RepaymentMethod } from '../../loans/schedule';
import {
  createLoan,
  getLoan,
  getSubscription,
  reserveSubscriptionIdempotently,
  type LoanView,
} from '../../loans/store';
import type { AppContext } from '../app';
import { actorOf, requireOwner, requireRole, type Principal } from '../auth';
import { writeAudit } from '../../db/audit';
import { decide, replyKeyedDecision } from '../decisions';
import { Replied } from '../approval-gate';
import { ApiError } from '../errors';
import { requestHash, validIdempotencyKey } from '../idempotency';
import { replyIdempotent } from '../idempotent-route';
import { temporalOf } from '../temporal';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import {
  cancelSubscriptionSignal,
  type SubscriptionWorkflowInput,
} from '../../workflows/contracts/subscription';
import {
  AMOUNT,
  AUTH_ERRORS,
  CURRENCY,
  DECISION_IDEMPOTENCY_HEADERS,
  ERROR_RESPONSE,
  IDEMPOTENCY_HEADERS,
  PARTY_ID,
} from '../schemas';
import { workflowIds } from '../../ids/workflow-ids';
import { newIds } from '../../ids/new-ids';
import { requireParty } from '../require-party';

interface CreateLoanBody {
  id?: string;
  borrowerId: string;
  principal: string;
  currency?: string;
  annualRate: string;
  termMonths: number;
  repaymentMethod: RepaymentMethod;
  subscriptionDeadline: string;
  feeRate?: string;
  interestFeeRate?: string;
  installmentIntervalSeconds?: number;
}

/**
 * The scale of loans.fee_rate and loans.interest_fee_rate (numeric(8, 6)): Postgres would round a
 * finer rate silently.
 */
const FEE_RATE_DECIMALS = 6;

/** A fee rate below 1 that the column keeps exactly; absent is 0. */
function parseFeeRate(input: string | undefined, field: 'feeRate' | 'interestFeeRate'): Decimal {
  const rate = parseRate(input ?? '0');
  if (rate.gte(1)) throw new ApiError(400, 'RATE_INVALID', `${field} must be below 1`);
  if (rate.decimalPlaces() > FEE_RATE_DECIMALS) {
    throw new ApiError(
      422,
      'RATE_TOO_MANY_DECIMALS',
      `${field} has ${FEE_RATE_DECIMALS} decimals at most: ${input}`,
      { field, decimals: FEE_RATE_DECIMALS },
    );
  }
  return rate;
}

const ID_PARAMS = { type: 'object', properties: { id: PARTY_ID }, required: ['id'] } as const;

function loanBody(loan: LoanView) {
  const fmt = (minor: bigint) => formatAmount(minor, loan.currency);
  return {
    id: loan.id,
    status: loan.status,
    borrowerId: loan.borrowerId,
    currency: loan.currency,
    principal: fmt(loan.principalMinor),
    subscribed: fmt(loan.principalMinor - loan.remainingMinor),
    remaining: fmt(loan.remainingMinor),
    annualRate: new MoneyDecimal(loan.annualRate).toString(),
    termMonths: loan.termMonths,
    repaymentMethod: loan.repaymentMethod,
    subscriptionDeadline: loan.subscriptionDeadline.toISOString(),
    workflowId: workflowIds.loan(loan.id),
    schedule: loan.schedule.map((i) => ({
      n: i.n,
      dueDate: i.dueDate.toISOString(),
      principal: fmt(i.principalMinor),
      interest: fmt(i.interestMinor),
      status: i.status,
    })),
  };
}

export function registerLoanRoutes(app: FastifyInstance, context: AppContext): void {
  registerCreateLoanRoute(app, context);
  registerLoanReadRoute(app, context);
  registerSubscribeRoute(app, context);
  registerSubscriptionReadRoute(app, context);
  registerCancelSubscriptionRoute(app, context);
}

const CREATE_LOAN_SCHEMA = {
  summary: 'open a loan for subscription',
  headers: IDEMPOTENCY_HEADERS,
  body: {
    type: 'object',
    additionalProperties: false,
    required: [
      'borrowerId',
      'principal',
      'annualRate',
      'termMonths',
      'repaymentMethod',
      'subscriptionDeadline',
    ],
    properties: {
      id: PARTY_ID,
      borrowerId: PARTY_ID,
      principal: AMOUNT,
      currency: CURRENCY,
      annualRate: { type: 'string', maxLength: 20 },
      termMonths: { type: 'integer', minimum: 1, maximum: 360 },
      repaymentMethod: { type: 'string', enum: [...REPAYMENT_METHODS] },
      subscriptionDeadline: { type: 'string', format: 'date-time' },
      feeRate: { type: 'string', maxLength: 20 },
      interestFeeRate: {
        type: 'string',
        maxLength: 20,
        description: "the platform's share of each installment's interest",
      },
      installmentIntervalSeconds: { type: 'integer', minimum: 1, maximum: 31_622_400 },
    },
  },
  response: {
    201: {
      type: 'object',
      properties: { loanId: { type: 'string' }, workflowId: { type: 'string' } },
    },
    ...AUTH_ERRORS,
    409: ERROR_RESPONSE,
    422: ERROR_RESPONSE,
  },
};

/** A new loan's amounts, rates and deadline, read and checked before anything is written. */
function parseLoanTerms(b: CreateLoanBody) {
  const currency = b.currency ?? DEFAULT_CURRENCY;
  // Investors' accounts, the escrow, the gateway's channel and the payouts are in the
  // platform's currency only: a loan in another would take subscriptions it cannot settle.
  // Refused up front.
  if (currency !== DEFAULT_CURRENCY) {
    throw new ApiError(
      422,
      'CURRENCY_NOT_SETTLED',
      `the platform settles ${DEFAULT_CURRENCY} only: a loan in ${currency} could not be subscribed or paid out`,
      { currency },
    );
  }
  const principalMinor = parseAmount(b.principal, currency);
  const annualRate = parseRate(b.annualRate);
  const feeRate = parseFeeRate(b.feeRate, 'feeRate');
  const interestFeeRate = parseFeeRate(b.interestFeeRate, 'interestFeeRate');
  const subscriptionDeadline = new Date(b.subscriptionDeadline);
  if (!(subscriptionDeadline.getTime() > Date.now()))
    throw new ApiError(400, 'DEADLINE_IN_PAST', 'subscriptionDeadline must be in the future');
  return { currency, principalMinor, annualRate, feeRate, interestFeeRate, subscriptionDeadline };
}

function registerCreateLoanRoute(app: FastifyInstance, context: AppContext): void {
  app.post<{ Body: CreateLoanBody }>(
    '/v1/loans',
    { schema: CREATE_LOAN_SCHEMA },
    async (request, reply) => {
      requireRole(request.principal, ['admin']);
      const b = request.body;
      const terms = parseLoanTerms(b);
      const { currency } = terms;
      return replyIdempotent(context, request, reply, async (tx) => {
        await requireParty(tx, b.borrowerId, 'borrower');
        const loanId = b.id ?? newIds.loan();
        const { rowCount: exists } = await tx.query('SELECT 1 FROM loans WHERE id = $1', [loanId]);
        if (exists) throw new ApiError(409, 'ALREADY_EXISTS', `loan ${loanId} already exists`);
        await createLoan(tx, {
          id: loanId,
          borrowerId: b.borrowerId,
          currency,
          principalMinor: terms.principalMinor,
          annualRate: terms.annualRate,
          termMonths: b.termMonths,
          repaymentMethod: b.repaymentMethod,
          subscriptionDeadline: terms.subscriptionDeadline,
          installmentIntervalSeconds: b.installmentIntervalSeconds,
          feeRate: terms.feeRate,
          interestFeeRate: terms.interestFeeRate,
        });
        await writeAudit(tx, {
          actor: actorOf(request.principal),
          action: 'loan.created',
          subject: loanId,
          requestId: request.id,
          details: {
            borrowerId: b.borrowerId,
            principal: b.principal,
            currency,
            termMonths: b.termMonths,
          },
        });
        return { statusCode: 201, body: { loanId, workflowId: workflowIds.loan(loanId) } };
      });
    },
  );
}

function registerLoanReadRoute(app: FastifyInstance, { pool }: AppContext): void {
  app.get<{ Params: { id: string } }>(
    '/v1/loans/:id',
    {
      schema: {
        summary: 'a loan, its progress and schedule',
        params: ID_PARAMS,
        response: {
          200: documentedObject('a loan', {
            id: 'the loan id',
            status: 'OPEN, FUNDED, REPAYING, CLOSED, EXPIRED...',
            borrowerId: 'its borrower',
            currency: 'ISO 4217',
            principal: 'amount',
            subscribed: 'amount',
            remaining: 'amount',
            annualRate: 'decimal',
            termMonths: 'months',
            repaymentMethod: 'equal_installment, equal_principal or interest_then_principal',
            subscriptionDeadline: 'ISO time',
            workflowId: 'loan-{id}',
            schedule: '[{n, dueDate, principal, interest, status}]',
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      const loan = await getLoan(pool, request.params.id);
      if (!loan) throw new ApiError(404, 'NOT_FOUND', 'no such loan');
      return loanBody(loan);
    },
  );
}

function registerSubscribeRoute(app: FastifyInstance, context: AppContext): void {
  const { pool } = context;
  app.post<{ Params: { id: string }; Body: { investorId: string; amount: string } }>(
    '/v1/loans/:id/subscriptions',
    {
      schema: {
        summary: 'subscribe to a loan: reserves the amount at once',
        params: ID_PARAMS,
        headers: IDEMPOTENCY_HEADERS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['investorId', 'amount'],
          properties: { investorId: PARTY_ID, amount: AMOUNT },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              subscriptionId: { type: 'string' },
              workflowId: { type: 'string' },
              status: { type: 'string' },
            },
          },
          ...AUTH_ERRORS,
          409: ERROR_RESPONSE,
          422: ERROR_RESPONSE,
        },
      },
    },
    async (request, reply) => {
      requireRole(request.principal, ['investor']);
      requireOwner(request.principal, request.body.investorId);
      const amountMinor = parseAmount(request.body.amount, DEFAULT_CURRENCY);
      const key = request.headers['idempotency-key'];
      const idempotencyKey = validIdempotencyKey(typeof key === 'string' ? key : undefined);
      const subscriptionId = newIds.subscription();
      // One SQL statement: key check, stored response and reservation commit together (the rush
      // path).
      const result = await reserveSubscriptionIdempotently(pool, {
        scope: request.principal.keyId,
        idempotencyKey,
        requestHash: requestHash(request),
        created: {
          subscriptionId,
          workflowId: workflowIds.subscription(subscriptionId),
          status: 'RESERVED',
        },
        subscriptionId,
        loanId: request.params.id,
        investorId: request.body.investorId,
        amountMinor,
        currency: DEFAULT_CURRENCY,
      });
      if (result.replayed) {
        context.metrics.idempotentReplays.inc();
        reply.header('idempotency-replayed', 'true');
      }
      return reply.status(result.statusCode).send(result.body);
    },
  );
}

function registerSubscriptionReadRoute(app: FastifyInstance, { pool }: AppContext): void {
  app.get<{ Params: { id: string } }>(
    '/v1/subscriptions/:id',
    {
      schema: {
        summary: 'a subscription: status and amount',
        params: ID_PARAMS,
        response: {
          200: documentedObject('a subscription', {
            id: 'sub_…',
            loanId: 'its loan',
            investorId: 'its investor',
            amount: 'amount',
            currency: 'ISO 4217',
            status: 'RESERVED, CONFIRMED, CANCELLED, REFUNDED',
            workflowId: 'subscription-{id}',
            createdAt: 'ISO time',
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      requireRole(request.principal, ['investor', 'operator', 'admin']);
      const sub = await getSubscription(pool, request.params.id);
      if (!sub) throw new ApiError(404, 'NOT_FOUND', 'not found');
      requireOwner(request.principal, sub.investorId);
      return {
        id: sub.id,
        loanId: sub.loanId,
        investorId: sub.investorId,
        amount: formatAmount(sub.amountMinor, sub.currency),
        currency: sub.currency,
        status: sub.status,
        workflowId: workflowIds.subscription(sub.id),
        createdAt: sub.createdAt.toISOString(),
      };
    },
  );
}

/**
 * The caller's own reservation on a loan still open: none (or another's) is 404; one already
 * decided, or on a loan past its subscription, is 409.
 */
async function cancellableSubscription(pool: Pool, principal: Principal, id: string) {
  const sub = await getSubscription(pool, id);
  if (!sub) throw new ApiError(404, 'NOT_FOUND', 'not found');
  requireOwner(principal, sub.investorId);
  if (sub.status !== 'RESERVED')
    throw new ApiError(409, 'SUBSCRIPTION_NOT_CANCELLABLE', `the subscription is ${sub.status}`, {
      status: sub.status,
    });
  const loan = await getLoan(pool, sub.loanId);
  if (loan?.status !== 'OPEN')
    throw new ApiError(409, 'LOAN_NOT_OPEN', `the loan is ${loan?.status}: its decision stands`);
  return sub;
}

function registerCancelSubscriptionRoute(app: FastifyInstance, context: AppContext): void {
  app.post<{ Params: { id: string } }>(
    '/v1/subscriptions/:id/cancel',
    {
      schema: {
        summary:
          "take a reservation back while its loan is open; the subscription's workflow decides (poll GET /v1/subscriptions/{id})",
        params: ID_PARAMS,
        headers: DECISION_IDEMPOTENCY_HEADERS,
        response: {
          202: {
            type: 'object',
            properties: {
              subscriptionId: { type: 'string' },
              workflowId: { type: 'string' },
              status: { type: 'string' },
            },
          },
          ...AUTH_ERRORS,
          409: ERROR_RESPONSE,
          503: ERROR_RESPONSE,
        },
      },
    },
    async (request, reply) =>
      // With an Idempotency-Key, a retry after a lost answer replays it (api/decisions.ts) instead
      // of a 409 for a subscription already being cancelled.
      replyKeyedDecision(context, request, reply, async () => {
        requireRole(request.principal, ['investor']);
        const sub = await cancellableSubscription(
          context.pool,
          request.principal,
          request.params.id,
        );
        const workflowId = workflowIds.subscription(sub.id);
        const input: SubscriptionWorkflowInput = {
          subscriptionId: sub.id,
          loanId: sub.loanId,
          investorId: sub.investorId,
        };
        // Recorded with the investor's key first; the workflow takes it by id. Its workflow may not
        // have started yet (the rush defers starts): signal-with-start either way. Repeats are
        // harmless.
        await decide(
          context,
          request,
          {
            workflowId,
            kind: 'subscription.cancel',
            reason: 'cancelled by the investor',
            payload: {},
          },
          (ref) =>
            temporalOf(context).workflow.signalWithStart('subscriptionWorkflow', {
              workflowId,
              taskQueue: TASK_QUEUE,
              args: [input],
              signal: cancelSubscriptionSignal,
              signalArgs: [ref],
            }),
        );
        return new Replied(202, { subscriptionId: sub.id, workflowId, status: 'CANCEL_REQUESTED' });
      }),
  );
}
