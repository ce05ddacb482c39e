// GET /v1/ledger/trial-balance (operator): per-currency totals; balanced: true.
import type { FastifyInstance } from 'fastify';
import { documentedObject } from '../contract';
import { formatAmount, Ledger } from '../../ledger';
import type { AppContext } from '../app';
import { requireRole } from '../auth';
import { AUTH_ERRORS } from '../schemas';

export function registerLedgerRoutes(app: FastifyInstance, { pool }: AppContext): void {
  const ledger = new Ledger(pool);
  app.get(
    '/v1/ledger/trial-balance',
    {
      schema: {
        summary: 'the trial balance per currency',
        response: {
          200: documentedObject('debits and credits per currency', {
            balanced: 'true when every currency balances',
            currencies: '[{currency, debits, credits, balanceSum, balanced}]',
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      requireRole(request.principal, ['operator', 'admin']);
      const trial = await ledger.trialBalance();
      return {
        balanced: trial.balanced,
        currencies: trial.lines.map((l) => ({
          currency: l.currency,
          debits: formatAmount(l.debits, l.currency),
          credits: formatAmount(l.credits, l.currency),
          balanceSum: formatAmount(l.balanceSum, l.currency),
          balanced: l.balanced,
        })),
      };
    },
  );
}
