// The end of the scenario: one table of what happened and the checks that matter, computed from
// the ledger, the platform's tables and the gateway's own record.
import Table from 'cli-table3';
import { clearingNets, gatewayNets, ordersDisagreeing } from '../../ledger/clearing-nets';
import { formatAmount } from '../../ledger/money';
import { scheduledPayoutIdPrefix } from '../../ids/derived';
import type { World } from '../world';
import type { CalendarResult } from './calendar';
import type { ReviewDesk } from './reviews';
import type { RushResult } from './rush';
import type { Cast } from './setup';
import { disbursementPayoutId } from '../../ids/derived';

export interface Checks {
  duplicates: number;
  ledgerVsGateway: number;
  trialBalanced: boolean;
}

/**
 * Every order of this run, ours and the gateway's own (the injected second-channel payment): does
 * the money the ledger moved through the clearing account equal what the gateway moved?
 */
async function ledgerVsGateway(world: World, cast: Cast, loanId: string): Promise<number> {
  const { rows: mine } = await world.db.query<{ order_no: string }>(
    `SELECT order_no FROM deposits WHERE investor_id LIKE $1
     UNION SELECT order_no FROM payouts WHERE loan_id = $2 OR id = $3 OR party_id LIKE $1
     UNION SELECT order_no FROM repayment_collections WHERE loan_id = $2`,
    [`${cast.run}-%`, loanId, disbursementPayoutId(loanId)],
  );
  const truth = await world.simulator.truth();
  const orders = new Set([
    ...mine.map((r) => r.order_no),
    ...truth
      .filter(
        (o) =>
          o.orderNo.startsWith(`${loanId}-`) ||
          o.orderNo.startsWith(scheduledPayoutIdPrefix(loanId)),
      )
      .map((o) => o.orderNo),
  ]);
  const gateway = gatewayNets(truth);
  const ledger = await clearingNets(world.db, [...orders]);
  return ordersDisagreeing(orders, gateway, ledger).length;
}

export interface IncidentSummary {
  orderNo: string;
  exceptionsFound: number;
  resolution: string;
  state: string;
  amountMinor: bigint;
  recoveredMinor: bigint;
}

export async function summarize(
  world: World,
  cast: Cast,
  rush: RushResult,
  calendar: CalendarResult,
  desk: ReviewDesk,
  incident?: IncidentSummary,
): Promise<Checks> {
  const { loanId } = rush;
  const by = await payoutsByStatus(world, loanId);
  const checks = await runChecks(world, cast, loanId);
  console.log(summaryTable({ cast, rush, calendar, desk, incident }, by, checks));
  return checks;
}

type PayoutsByStatus = Record<string, { status: string; n: number; total: string } | undefined>;

async function payoutsByStatus(world: World, loanId: string): Promise<PayoutsByStatus> {
  const { rows: payouts } = await world.db.query<{ status: string; n: number; total: string }>(
    `SELECT status, count(*)::int AS n, sum(amount_minor)::text AS total FROM payouts WHERE loan_id = $1 GROUP BY status ORDER BY status`,
    [loanId],
  );
  return Object.fromEntries(payouts.map((r) => [r.status, r]));
}

/**
 * The checks that matter: no payout posted twice by us or executed twice by the gateway, the
 * ledger's money through the gateway equal to the gateway's, and the trial balance.
 */
async function runChecks(world: World, cast: Cast, loanId: string): Promise<Checks> {
  const { rows: dup } = await world.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT p.id FROM payouts p JOIN ledger_transactions t ON t.idempotency_key = 'payout:' || p.id || ':post'
     WHERE p.loan_id = $1 GROUP BY p.id HAVING count(*) > 1) d`,
    [loanId],
  );
  const twice = await executedTwice(world, loanId);
  const trial = await world.api.must<{ balanced: boolean }>('GET', '/v1/ledger/trial-balance');
  const mismatches = await ledgerVsGateway(world, cast, loanId);
  return {
    duplicates: dup[0].n + twice,
    ledgerVsGateway: mismatches,
    trialBalanced: trial.balanced,
  };
}

/** How many of the loan's payout orders the gateway executed more than once (its own record). */
async function executedTwice(world: World, loanId: string): Promise<number> {
  const truth = await world.simulator.truth();
  const { rows: ids } = await world.db.query<{ order_no: string }>(
    'SELECT order_no FROM payouts WHERE loan_id = $1',
    [loanId],
  );
  const ours = new Set(ids.map((r) => r.order_no));
  return (
    truth.filter((o) => ours.has(o.orderNo) && o.status === 'SUCCESS').length -
    new Set(
      truth.filter((o) => ours.has(o.orderNo) && o.status === 'SUCCESS').map((o) => o.orderNo),
    ).size
  );
}

/** The one table the scenario ends with. */
function summaryTable(
  run: {
    cast: Cast;
    rush: RushResult;
    calendar: CalendarResult;
    desk: ReviewDesk;
    incident?: IncidentSummary;
  },
  by: PayoutsByStatus,
  checks: Checks,
): string {
  const { cast, rush, calendar, desk, incident } = run;
  const fmt = (minor: bigint) => formatAmount(minor, 'CNY');
  const table = new Table({ head: ['', 'result'], style: { head: [], border: [] } });
  table.push(
    [
      'investors / subscriptions accepted',
      `${cast.investors.length} / ${rush.accepted} (${rush.loanFullAnswers} LOAN_FULL answers)`,
    ],
    ['loan / confirmed', `${fmt(rush.principalMinor)} / ${fmt(rush.confirmedMinor)}`],
    [
      'oversold / undersold',
      `${fmt(rush.confirmedMinor > rush.principalMinor ? rush.confirmedMinor - rush.principalMinor : 0n)} / ${fmt(rush.confirmedMinor < rush.principalMinor ? rush.principalMinor - rush.confirmedMinor : 0n)}`,
    ],
    ['late fees charged', fmt(calendar.lateFeesMinor)],
    ['payouts paid', `${by.SUCCEEDED?.n ?? 0} (${fmt(BigInt(by.SUCCEEDED?.total ?? '0'))})`],
    ['payouts refused by the bank (hold released)', String(by.FAILED?.n ?? 0)],
    ['payouts still with an operator', String(by.MANUAL_REVIEW?.n ?? 0)],
    [
      'manual reviews resolved',
      `${desk.counts.byOperator} by you, ${desk.counts.paid} paid + ${desk.counts.notPaid} not paid from the gateway's record`,
    ],
    [
      'overlapping payout runs',
      calendar.overlappingRuns.length
        ? `${calendar.overlappingRuns.join(' + ')}: each investor paid once`
        : '-',
    ],
    ['duplicate payouts by the platform', String(checks.duplicates)],
    [
      'second-channel double payment',
      incident
        ? `${incident.orderNo}: found by reconciliation (${incident.exceptionsFound} exception(s) that day), resolved: ${incident.resolution}`
        : '-',
    ],
    [
      'recovered',
      incident
        ? `${fmt(incident.recoveredMinor)} of ${fmt(incident.amountMinor)} (recovery ${incident.state})`
        : '-',
    ],
    ['trial balance', checks.trialBalanced ? '0 (balanced)' : 'NOT BALANCED'],
    ['ledger vs gateway truth', `${checks.ledgerVsGateway} orders differ`],
  );
  return table.toString();
}
