// The main job (README command 1): on the running stack, a loan's whole life with the incidents
// of ../shared/incidents/ re-enacted on a compressed calendar. Sizes and calendar from flags:
//   npm start -- --investors 300 --months 3 --month 20s --seed 7 [--auto-resolve]
import { Command, InvalidArgumentError } from 'commander';
import { formatAmount } from '../ledger/money';
import { say } from './progress';
import { liveTheLoan } from './scenario/calendar';
import { doublePayment, recoveryOutcome, type IncidentResult } from './scenario/incident';
import { ReviewDesk } from './scenario/reviews';
import { rush } from './scenario/rush';
import { setUpCast } from './scenario/setup';
import { summarize } from './scenario/summary';
import { connectWorld } from './world';
import { workflowIdPrefixes, workflowIds } from '../ids/workflow-ids';
import { disbursementPayoutId } from '../ids/derived';

function positiveInt(max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new InvalidArgumentError(`a whole number from 1 to ${max}`);
    return n;
  };
}

/** "20s", "2m", "1h" → seconds. */
function duration(value: string): number {
  const m = /^(\d{1,6})(s|m|h)$/.exec(value);
  if (!m) throw new InvalidArgumentError('a duration such as 20s, 2m or 1h');
  const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
  if (seconds < 10)
    throw new InvalidArgumentError('at least 10s: a month must leave time to collect and pay out');
  return seconds;
}

const opts = new Command()
  .name('npm start --')
  .description(
    "Re-enact a loan's life on the local stack: the rush, repayments, payouts through a faulty gateway, manual reviews.",
  )
  .option(
    '--investors <n>',
    'investors who rush the loan (more money than it takes)',
    positiveInt(20_000),
    300,
  )
  .option('--months <n>', 'term of the loan, in installments', positiveInt(36), 3)
  .option('--month <duration>', 'how long a month lasts', duration, 20)
  .option('--seed <seed>', 'what the investors ask for', '7')
  .option(
    '--auto-resolve',
    "decide manual reviews from the gateway's record without asking (always so without a terminal)",
    false,
  )
  .parse()
  .opts<{ investors: number; months: number; month: number; seed: string; autoResolve: boolean }>();

async function main(): Promise<void> {
  const world = await connectWorld();
  const run = `d${Date.now().toString(36)}`;
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !opts.autoResolve;
  try {
    say(
      `\nScenario ${run}: ${opts.investors} investors, ${opts.months} months of ${opts.month} s, seed ${opts.seed}${interactive ? '' : ', reviews resolved automatically'}\n`,
    );
    const cast = await setUpCast(world, run, opts.investors, opts.seed);
    const filled = await rush(world, cast, opts.months, opts.month);
    const scope =
      `WorkflowId STARTS_WITH '${workflowIdPrefixes.scheduledPayouts(filled.loanId)}' OR WorkflowId STARTS_WITH '${workflowIdPrefixes.repayments(filled.loanId)}'` +
      ` OR WorkflowId = '${workflowIds.payout(disbursementPayoutId(filled.loanId))}'`;
    const desk = new ReviewDesk(world, scope, interactive);
    let incident: IncidentResult | undefined;
    const calendar = await liveTheLoan(world, filled.loanId, opts.months, desk, {
      whilePayingOut: async (n) => {
        if (n === 1) incident = await doublePayment(world, filled.loanId, n);
      },
    });
    const recovery = incident?.recoveryId
      ? await recoveryOutcome(world, incident.recoveryId)
      : undefined;
    const checks = await summarize(
      world,
      cast,
      filled,
      calendar,
      desk,
      incident && recovery ? { ...incident, ...recovery } : undefined,
    );
    const ok = checks.duplicates === 0 && checks.trialBalanced && checks.ledgerVsGateway === 0;
    say(
      ok
        ? `\nEvery cent accounted for: ${formatAmount(filled.confirmedMinor, 'CNY')} lent, nothing paid twice, the ledger equals the gateway. The stack keeps running (npm stop).`
        : '\nA CHECK FAILED: see the table above.',
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    await world.close();
  }
}

main().catch((err: Error) => {
  console.error(`[demo] error: ${err.stack ?? err.message}`);
  process.exit(1);
});
