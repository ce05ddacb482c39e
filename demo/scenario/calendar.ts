// Phase 3: the loan's life on a compressed calendar. Each month the Loan workflow's timer starts
// the installment's Repayment: the borrower pays through the gateway, the money is split among the
// investors and the interest run pays everyone, while the simulator answers "failed" for some
// payouts it executed (queried, found paid) and leaves some stuck (manual review). In the last
// month a second "maturity run" is started at the same moment as the regular run, as in the
// incident: each investor is still paid once.
import { apiErrorFromResponse } from '../../api/errors';
import { formatAmount } from '../../ledger/money';
import type { PayoutRunInput } from '../../workflows/contracts/payout-run';
import { sleep } from '../api';
import { Phase } from '../progress';
import type { World } from '../world';
import type { ReviewDesk } from './reviews';
import { workflowIds } from '../../ids/workflow-ids';
import { startPayoutRunAsJob } from '../../cli/payout-run-job';

/** The gateway's bad day, during payouts and collections. */
export const PAYOUT_FAULTS = {
  'lie-failed': 0.03,
  'processing-stuck': 0.01,
  'fail:INVALID_ACCOUNT': 0.01,
};

interface Installment {
  n: number;
  status: string;
  principal: string;
  interest: string;
}

export interface CalendarResult {
  overlappingRuns: string[];
  lateFeesMinor: bigint;
}

export interface CalendarHooks {
  /**
   * Called once when installment n has been distributed and its payouts are going out (the incident
   * plugs in here).
   */
  whilePayingOut?: (n: number) => Promise<void>;
}

export async function liveTheLoan(
  world: World,
  loanId: string,
  months: number,
  desk: ReviewDesk,
  hooks: CalendarHooks = {},
): Promise<CalendarResult> {
  await world.simulator.setFaults(PAYOUT_FAULTS);
  console.log(
    `  the gateway now answers "failed" for ${PAYOUT_FAULTS['lie-failed'] * 100}% of orders it executed, leaves ${PAYOUT_FAULTS['processing-stuck'] * 100}% stuck, refuses ${PAYOUT_FAULTS['fail:INVALID_ACCOUNT'] * 100}%`,
  );
  const phase = new Phase('calendar', months, 'months');
  const reported = new Set<number>();
  const hooked = new Set<number>();
  const overlappingRuns: string[] = [];
  try {
    for (;;) {
      const loan = await world.api.must<{ status: string; schedule: Installment[] }>(
        'GET',
        `/v1/loans/${loanId}`,
      );
      const paidOut = loan.schedule.filter((i) => i.status === 'PAID_OUT').length;
      const current = loan.schedule.find((i) => i.status !== 'PAID_OUT');
      phase.update(paidOut, current ? `month ${current.n}: ${current.status}` : 'all paid out');

      const last = loan.schedule[loan.schedule.length - 1];
      if (
        overlappingRuns.length === 0 &&
        (last.status === 'DISTRIBUTED' || last.status === 'PAID_OUT')
      )
        overlappingRuns.push(...(await overlapRuns(world, loanId, last.n)));

      for (const inst of loan.schedule) {
        if ((inst.status === 'DISTRIBUTED' || inst.status === 'PAID_OUT') && !hooked.has(inst.n)) {
          hooked.add(inst.n);
          await hooks.whilePayingOut?.(inst.n);
        }
        if (inst.status !== 'PAID_OUT' || reported.has(inst.n)) continue;
        reported.add(inst.n);
        console.log(`  month ${inst.n}: ${await monthLine(world, loanId, inst.n)}`);
      }
      await desk.handle();
      if (loan.status === 'CLOSED') break;
      await sleep(1_000);
    }
  } finally {
    await world.simulator.setFaults({});
  }
  const { rows } = await world.db.query<{ fees: string }>(
    'SELECT coalesce(sum(late_fee_minor), 0)::text AS fees FROM loan_installments WHERE loan_id = $1',
    [loanId],
  );
  phase.done(`${months} installments collected, distributed and paid out; the loan is CLOSED`);
  return { overlappingRuns, lateFeesMinor: BigInt(rows[0].fees) };
}

/**
 * The incident's overlap: the interest run (through the API) and a separate maturity run, at once.
 */
async function overlapRuns(world: World, loanId: string, n: number): Promise<string[]> {
  // Not a platform id on purpose: the incident's second run came from another job under its own
  // name.
  const maturityRunId = `${workflowIds.payoutRun(loanId, n)}-maturity`;
  const input: PayoutRunInput = { loanId, installment: n };
  const [regular] = await Promise.all([
    startedByHand(world, loanId, n),
    startPayoutRunAsJob(world.db, world.temporal, {
      workflowId: maturityRunId,
      input,
      job: 'maturity',
    }),
  ]);
  console.log(
    `  month ${n}: the interest run (${regular.workflowId}, started by hand and approved by a second operator) and a maturity run (${maturityRunId}) started at the same moment, as in the incident`,
  );
  return [regular.workflowId, maturityRunId];
}

/** A payout run started by hand: held for a second operator, who approves it (maker-checker). */
async function startedByHand(world: World, loanId: string, n: number) {
  const held = await world.api.call('POST', '/v1/payout-runs', {
    body: { loanId, installment: n },
  });
  const run = await world.api.approvedBy<{ workflowId: string }>(
    await world.api.checkerKey(),
    held,
  );
  if (run.status >= 300)
    throw apiErrorFromResponse(run.status, run.body, `the payout run of ${loanId}/${n}`);
  return run.body;
}

async function monthLine(world: World, loanId: string, n: number): Promise<string> {
  const {
    rows: [i],
  } = await world.db.query(
    `SELECT i.collected_minor::text AS collected, i.late_fee_minor::text AS late_fee,
            (SELECT count(*)::int FROM repayment_collections c WHERE c.loan_id = i.loan_id AND c.n = i.n) AS attempts,
            (SELECT count(*)::int FROM repayment_shares s WHERE s.loan_id = i.loan_id AND s.n = i.n) AS investors
     FROM loan_installments i WHERE i.loan_id = $1 AND i.n = $2`,
    [loanId, n],
  );
  const { rows } = await world.db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM payouts WHERE loan_id = $1 AND installment = $2 GROUP BY status',
    [loanId, n],
  );
  const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
  const late =
    BigInt(i.late_fee) > 0n
      ? ` (overdue: late fee ${formatAmount(BigInt(i.late_fee), 'CNY')})`
      : '';
  return (
    `collected ${formatAmount(BigInt(i.collected), 'CNY')} in ${i.attempts} attempt(s)${late} → split among ${i.investors} investors → ` +
    `payouts: ${by.SUCCEEDED ?? 0} paid, ${by.FAILED ?? 0} refused by the bank, ${by.MANUAL_REVIEW ?? 0} with an operator`
  );
}
