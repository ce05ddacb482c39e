// Statements (API.md, issue 19 item 6): an investor's portfolio and a borrower's loans, for the
// party or an operator, as JSON or, with `Accept: text/csv`, as CSV (one row per holding, one row
// per installment). Read from loans/portfolio.ts.
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatAmount } from '../../ledger/money';
import { borrowerLoans, investorPortfolio, type BorrowerLoan } from '../../loans/portfolio';
import type { Holding } from '../../loans/portfolio';
import type { Pool } from 'pg';
import type { AppContext } from '../app';
import { requireOwner, requireRole } from '../auth';
import { documentedObject } from '../contract';
import { requireParty } from '../require-party';
import { AUTH_ERRORS, PARTY_ID } from '../schemas';

const PARAMS = { type: 'object', properties: { id: PARTY_ID }, required: ['id'] } as const;
const day = (d: Date) => d.toISOString().slice(0, 10);

function holdingView(h: Holding) {
  const fmt = (m: bigint) => formatAmount(m, h.currency);
  return {
    loanId: h.loanId,
    status: h.status,
    currency: h.currency,
    holding: fmt(h.holdingMinor),
    principalReceived: fmt(h.principalReceivedMinor),
    interestReceived: fmt(h.interestReceivedMinor),
    principalOutstanding: fmt(h.principalOutstandingMinor),
    expected: h.expected.map((e) => ({
      n: e.n,
      dueDate: day(e.dueDate),
      principal: fmt(e.principalMinor),
      interest: fmt(e.interestMinor),
    })),
  };
}

function loanView(l: BorrowerLoan) {
  const fmt = (m: bigint) => formatAmount(m, l.currency);
  return {
    loanId: l.loanId,
    status: l.status,
    currency: l.currency,
    principal: fmt(l.principalMinor),
    paid: fmt(l.paidMinor),
    dueNow: fmt(l.dueNowMinor),
    schedule: l.schedule.map((r) => ({
      n: r.n,
      dueDate: day(r.dueDate),
      principal: fmt(r.principalMinor),
      interest: fmt(r.interestMinor),
      lateFee: fmt(r.lateFeeMinor),
      paid: fmt(r.paidMinor),
      status: r.status,
      due: r.due,
    })),
  };
}

const wantsCsv = (request: FastifyRequest) =>
  (request.headers.accept ?? '').split(',').some((t) => t.trim().startsWith('text/csv'));

function sendCsv(reply: FastifyReply, rows: Record<string, unknown>[], columns: string[]) {
  return reply.type('text/csv; charset=utf-8').send(stringify(rows, { header: true, columns }));
}

export function registerStatementRoutes(app: FastifyInstance, { pool }: AppContext): void {
  app.get<{ Params: { id: string } }>(
    '/v1/investors/:id/portfolio',
    {
      schema: {
        summary:
          "an investor's holdings per loan, principal outstanding, expected receipts by date, received so far and open recoveries (Accept: text/csv for CSV)",
        params: PARAMS,
        response: {
          200: documentedObject('the portfolio', {
            holdings:
              '[{loanId, status, currency, holding, principalReceived, interestReceived, principalOutstanding, expected: [{n, dueDate, principal, interest}]}]',
            openRecoveries: '[{id, state, currency, owed, outstanding}]',
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request, reply) => {
      requireRole(request.principal, ['investor', 'operator', 'admin']);
      requireOwner(request.principal, request.params.id);
      await requireParty(pool, request.params.id, 'investor');
      const p = await investorPortfolio(pool, request.params.id);
      const holdings = p.holdings.map(holdingView);
      if (wantsCsv(request))
        return sendCsv(
          reply,
          holdings.map((h) => ({
            ...h,
            expectedPrincipal: formatAmount(
              sumOf(p.holdings, h.loanId, 'principalMinor'),
              h.currency,
            ),
            expectedInterest: formatAmount(
              sumOf(p.holdings, h.loanId, 'interestMinor'),
              h.currency,
            ),
            nextDueDate: h.expected[0]?.dueDate ?? '',
          })),
          [
            'loanId',
            'status',
            'currency',
            'holding',
            'principalReceived',
            'interestReceived',
            'principalOutstanding',
            'expectedPrincipal',
            'expectedInterest',
            'nextDueDate',
          ],
        );
      return {
        holdings,
        openRecoveries: p.openRecoveries.map((r) => ({
          id: r.id,
          state: r.state,
          currency: r.currency,
          owed: formatAmount(r.owedMinor, r.currency),
          outstanding: formatAmount(r.outstandingMinor, r.currency),
        })),
      };
    },
  );
  registerBorrowerLoansRoute(app, pool);
}

const sumOf = (holdings: Holding[], loanId: string, part: 'principalMinor' | 'interestMinor') =>
  (holdings.find((h) => h.loanId === loanId)?.expected ?? []).reduce((a, e) => a + e[part], 0n);

function registerBorrowerLoansRoute(app: FastifyInstance, pool: Pool): void {
  app.get<{ Params: { id: string } }>(
    '/v1/borrowers/:id/loans',
    {
      schema: {
        summary:
          "a borrower's loans with their schedules, what was paid and what is due (Accept: text/csv for CSV)",
        params: PARAMS,
        response: {
          200: {
            type: 'array',
            description:
              '[{loanId, status, currency, principal, paid, dueNow, schedule: [{n, dueDate, principal, interest, lateFee, paid, status, due}]}]',
            items: { type: 'object', additionalProperties: true },
          },
          ...AUTH_ERRORS,
        },
      },
    },
    async (request, reply) => {
      requireRole(request.principal, ['borrower', 'operator', 'admin']);
      requireOwner(request.principal, request.params.id);
      await requireParty(pool, request.params.id, 'borrower');
      const loans = (await borrowerLoans(pool, request.params.id)).map(loanView);
      if (wantsCsv(request))
        return sendCsv(
          reply,
          loans.flatMap((l) =>
            l.schedule.map((r) => ({
              loanId: l.loanId,
              loanStatus: l.status,
              currency: l.currency,
              ...r,
            })),
          ),
          [
            'loanId',
            'loanStatus',
            'currency',
            'n',
            'dueDate',
            'principal',
            'interest',
            'lateFee',
            'paid',
            'status',
            'due',
          ],
        );
      return loans;
    },
  );
}
