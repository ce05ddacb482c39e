// One seeded chaos run over the real processes: draw the workload and the schedule from the seed,
// start the run's own stack, drive the workload while the schedule injects faults and operator
// actions, let the system settle, reconcile every day the run touched (resolving what it finds),
// settle again, then check the invariants. Bounded by steps and by a wall-clock deadline.
import { Prng } from './prng';
import { checkInvariants, silentWorkflows, type Violation } from './invariants';
import {
  actOnRecoveries,
  reconcile,
  resolveExceptions,
  resolveRacingRematch,
  resolveReviews,
  utcDay,
} from './operators';
import { drawSchedule, runSchedule, type ScheduledStep, type WeightOverrides } from './schedule';
import { ChaosStack, PROCESS_KINDS } from './stack';
import {
  calendarPhase,
  depositPhase,
  drawWorkload,
  rushPhase,
  withdraw,
  type WorkloadPlan,
} from './workload';
import { count, sleep, until, type RunState } from './world';

export interface RunOptions {
  seed: number;
  steps: number;
  /** Step weights changed for this run (chaos/schedule.ts): part of what replays it. */
  weights?: WeightOverrides;
  /** Wall-clock bound of the whole run. */
  maxMs: number;
  keep: boolean;
  say: (line: string) => void;
}

export interface RunResult {
  seed: number;
  steps: number;
  ms: number;
  faults: Record<string, number>;
  violations: Violation[];
  /** The workload or the settling could not finish (a stall is reported, never hidden). */
  errors: string[];
}

const MAX_LOANS = 4;
/**
 * A withdrawal or deposit on the default query policy is queried for about four minutes before it
 * waits for an operator.
 */
const SETTLE_MS = 6 * 60_000;
/**
 * Operators settling the last reviews are wrong this often too: the reconciliation after them must
 * catch it.
 */
const SETTLE_WRONG_RATE = 0.4;
/**
 * How often a review decided while settling races the gateway's own notice for it, and the first
 * round of exceptions a re-match.
 */
const SETTLE_RACE_RATE = 0.3;
/**
 * A loan is started only with this much of the run's time left (its calendar, settling,
 * reconciliation).
 */
const LAST_LOAN_MARGIN_MS = 6 * 60_000;

/** The stacks running now, so an interrupted run still stops the processes it started. */
export const runningStacks = new Set<ChaosStack>();

export const reproduce = (seed: number, steps: number, weights: WeightOverrides = {}) =>
  `npm run chaos -- --seed ${seed} --steps ${steps}${Object.entries(weights)
    .map(([k, n]) => ` --weight ${k}=${n}`)
    .join('')}`;

export async function runSeed(options: RunOptions): Promise<RunResult> {
  const startedAt = Date.now();
  const drawn = drawRun(options);
  const { plan, schedule } = drawn;
  const say = (line: string) =>
    options.say(`[seed ${options.seed} ${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${line}`);
  say(
    `plan: ${plan.investors} investors, ${plan.months} months of ${plan.monthSeconds} s, ${plan.cancels.length} cancels; ${schedule.length} chaos steps`,
  );

  const stack = await ChaosStack.start({ seed: options.seed, log: say });
  runningStacks.add(stack);
  const errors: string[] = [];
  let violated = false;
  let state: RunState | undefined;
  try {
    state = await startState(stack, options, drawn, startedAt, say);
    await workloadUnderChaos(state, drawn, errors);
    await settleAndReconcile(state, errors, startedAt);
    state.phase = 'invariants';
    countWhatHappened(state);
    const violations = [...state.alarms, ...(await checkInvariants(state))];
    violated = violations.length > 0;
    return result(options, startedAt, state.faults, violations, errors);
  } catch (err) {
    errors.push(`run: ${(err as Error).stack ?? (err as Error).message}`);
    return result(options, startedAt, state?.faults ?? {}, [], errors);
  } finally {
    if (errors.length)
      for (const kind of PROCESS_KINDS) say(`--- ${kind} said last:\n${stack.tail(kind, 1_500)}`);
    runningStacks.delete(stack);
    // a failing seed's schema and files stay for a look
    await stack.stop({ keep: options.keep || errors.length > 0 || violated });
  }
}

/** Everything the seed decides before the stack starts. */
interface DrawnRun {
  plan: WorkloadPlan;
  /** Investors who withdraw part of what they hold once the loans are over. */
  withdrawals: { i: number; fraction: number }[];
  schedule: ScheduledStep[];
  operatorRng: Prng;
  recoveryRng: Prng;
}

function drawRun(options: RunOptions): DrawnRun {
  const master = new Prng(options.seed);
  // Each consumer gets its own stream, forked in a fixed order, so one consumer's timing never
  // shifts another's draws.
  const workloadRng = new Prng(master.int(1, 2 ** 31 - 1));
  const scheduleRng = new Prng(master.int(1, 2 ** 31 - 1));
  const operatorRng = new Prng(master.int(1, 2 ** 31 - 1));
  const recoveryRng = new Prng(master.int(1, 2 ** 31 - 1));
  const plan = drawWorkload(workloadRng);
  const withdrawals = workloadRng
    .some(
      Array.from({ length: plan.investors }, (_, i) => i),
      0.5,
    )
    .map((i) => ({ i, fraction: workloadRng.int(10, 90) / 100 }));
  const schedule = drawSchedule(scheduleRng, options.steps, options.weights);
  return { plan, withdrawals, schedule, operatorRng, recoveryRng };
}

/** The run's shared state, with an operator's key of its own. */
async function startState(
  stack: ChaosStack,
  options: RunOptions,
  drawn: DrawnRun,
  startedAt: number,
  say: (line: string) => void,
): Promise<RunState> {
  const issueOperatorKey = async () =>
    (await stack.api.must<{ key: string }>('POST', '/v1/api-keys', { body: { role: 'operator' } }))
      .key;
  const operatorKey = await issueOperatorKey();
  const checkerKey = await issueOperatorKey();
  return {
    stack,
    seed: options.seed,
    operatorRng: drawn.operatorRng,
    recoveryRng: drawn.recoveryRng,
    operatorKey,
    checkerKey,
    runId: `c${options.seed}`,
    phase: 'deposits',
    investors: [],
    loanIds: [],
    faults: {},
    decisions: [],
    secondChannel: new Map(),
    tampered: new Map(),
    alarms: [],
    deadlineMs: startedAt + options.maxMs,
    say,
  };
}

/** The workload with the schedule running beside it, until both are over. */
async function workloadUnderChaos(s: RunState, drawn: DrawnRun, errors: string[]): Promise<void> {
  let scheduleDone = false;
  let workloadDone = false;
  const chaos = runSchedule(s, drawn.schedule).finally(() => {
    scheduleDone = true;
  });
  // Once the schedule is over, operators keep deciding reviews while the workload finishes: a
  // repayment waiting in review would otherwise hold the loan's calendar until its budget ran
  // out.
  const lateOperators = chaos.then(async () => {
    while (!workloadDone) {
      const said = await resolveReviews(s, SETTLE_WRONG_RATE, SETTLE_RACE_RATE).catch(
        (err: Error) => `reviews: ${err.message}`,
      );
      if (said !== 'reviews: none pending') s.say(`  after the schedule: ${said}`);
      await sleep(2_000);
    }
  });
  try {
    await workload(s, drawn, () => scheduleDone);
  } catch (err) {
    errors.push(`workload (${s.phase}): ${(err as Error).message}`);
  }
  workloadDone = true;
  await chaos;
  await lateOperators;
}

/** Deposits, then loans while the schedule lasts, then the drawn withdrawals. */
async function workload(s: RunState, drawn: DrawnRun, scheduleDone: () => boolean): Promise<void> {
  const { plan } = drawn;
  s.say('phase deposits');
  const borrowerId = await depositPhase(s, plan);
  // Loans one after another while the schedule still has faults to inject (bounded: MAX_LOANS,
  // and time for the rest).
  for (
    let k = 0;
    k === 0 ||
    (k < MAX_LOANS && !scheduleDone() && Date.now() < s.deadlineMs - LAST_LOAN_MARGIN_MS);
    k++
  ) {
    s.phase = 'rush';
    s.say(`phase rush (loan ${k + 1})`);
    const loanId = await rushPhase(s, plan, borrowerId, k);
    if (loanId === undefined) break;
    s.phase = 'calendar';
    s.say('phase calendar');
    s.say(`loan ${loanId} ended ${await calendarPhase(s, loanId, plan)}`);
  }
  s.phase = 'withdrawals';
  s.say('phase withdrawals');
  for (const w of drawn.withdrawals) {
    count(s, 'workload:withdrawal');
    s.say(`  ${await withdraw(s, s.investors[w.i], w.fraction, 'end')}`);
  }
}

/**
 * Settle, reconcile every day the run touched, act on the recoveries, and settle again with
 * every decision from the gateway's record.
 */
async function settleAndReconcile(s: RunState, errors: string[], startedAt: number): Promise<void> {
  s.phase = 'settle';
  s.say(
    'phase settle: the schedule is over; waiting for every workflow to finish or wait for an operator',
  );
  await settle(s, errors, SETTLE_WRONG_RATE, SETTLE_RACE_RATE);
  s.phase = 'reconcile';
  for (const date of new Set([utcDay(startedAt), utcDay(Date.now())]))
    await reconcileDay(s, date, errors);
  s.say(`  ${await actOnRecoveries(s)}`);
  // nothing reconciles after this one: its decisions are the gateway's record
  await settle(s, errors, 0);
}

/** The counters only the end of the run can read: the simulator's hits, the API's 503s, orders. */
function countWhatHappened(s: RunState): void {
  const { stack } = s;
  // What the gateway's submits really met, as the simulator counted them (not what the rates
  // promised).
  for (const [fault, n] of Object.entries(stack.simulator.faultHits()))
    count(s, `gateway:${fault}`, n);
  // What the system answered while Postgres was down: requests the API refused with a 503
  // (clients retry them).
  const unavailable = stack
    .outputOf('api')
    .split('\n')
    .filter((l) => l.includes('"msg":"database unavailable"')).length;
  if (unavailable > 0) count(s, 'api:503-database-unavailable', unavailable);
  count(
    s,
    'workload:gateway-orders',
    stack.simulator.truth().filter((o) => !s.secondChannel.has(o.orderNo)).length,
  );
}

function result(
  options: RunOptions,
  startedAt: number,
  faults: Record<string, number>,
  violations: Violation[],
  errors: string[],
): RunResult {
  return {
    seed: options.seed,
    steps: options.steps,
    ms: Date.now() - startedAt,
    faults,
    violations,
    errors,
  };
}

/**
 * Until every running workflow waits in a named operator state and the outbox has nothing due;
 * reviews decided meanwhile.
 */
async function settle(
  state: RunState,
  errors: string[],
  wrongRate: number,
  raceRate = 0,
): Promise<void> {
  try {
    await until(
      state,
      'the system to settle',
      async () => {
        state.say(`  ${await resolveReviews(state, wrongRate, raceRate)}`);
        const silent = await silentWorkflows(state);
        const { rows } = await state.stack.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox WHERE not_before <= now()',
        );
        state.say(
          `  settling: ${silent.length} workflow(s) still working${silent.length ? ` (${silent.slice(0, 4).join(', ')}${silent.length > 4 ? ', ...' : ''})` : ''}, ${rows[0].n} outbox row(s) due`,
        );
        return silent.length === 0 && rows[0].n === 0 ? true : undefined;
      },
      SETTLE_MS,
      2_000,
    );
  } catch (err) {
    errors.push(`settle: ${(err as Error).message}`);
  }
}

/**
 * The day's reconciliation and its re-run, until CLEAN (bounded rounds). The first round's
 * exceptions are decided wrongly as often as reviews were (where the evidence allowed it), and
 * sometimes while a re-match runs; the next rounds from the gateway's record, so a wrong decision
 * refused, or one the re-match finds undone, is decided again.
 */
async function reconcileDay(state: RunState, date: string, errors: string[]): Promise<void> {
  try {
    for (let round = 0; round < 5; round++) {
      const day = await reconcile(state, date);
      state.say(
        `  reconciliation ${date} round ${round + 1}: ${day.state}, ${day.openExceptions} open, ${day.pendingLines} pending`,
      );
      if (day.state === 'CLEAN') return;
      const wrongRate = round === 0 ? SETTLE_WRONG_RATE : 0;
      if (day.openExceptions === 0)
        await sleep(3_000); // pending lines: the orders' own decisions come first
      else if (round === 0 && state.operatorRng.chance(SETTLE_RACE_RATE))
        state.say(`  ${await resolveRacingRematch(state, date, day, wrongRate)}`);
      else state.say(`  ${await resolveExceptions(state, date, day, { wrongRate })}`);
    }
    errors.push(`reconciliation of ${date} is not CLEAN after 5 rounds`);
  } catch (err) {
    errors.push(`reconcile ${date}: ${(err as Error).message}`);
  }
}
