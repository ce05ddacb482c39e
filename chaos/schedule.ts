// The chaos schedule: `steps` actions drawn up front from the seed, each after a seeded pause,
// run beside the workload. Faults: SIGKILL and restart of the worker, the dispatcher or the API;
// a Temporal dev server kill and restart on its database file; an immediate shutdown of the run's
// own Postgres (`pg_ctl -m immediate`) and its restart; the gateway's fault rates changed
// (timeouts that still execute, lies with listed and unlisted codes, orders stuck PROCESSING,
// 5xx and resets after executing, duplicate, late, out-of-order, wrong-amount and badly signed
// notifications); outages; a second-channel payment; notices signed with the gateway's own key
// that mismatch the order or contradict what the gateway did, and notices re-sent after a restart;
// errors in the statement before a reconciliation run (chaos/gateway-faults.ts). Operators: reviews
// (sometimes decided against the gateway's record, sometimes racing the gateway's notice) and
// reconciliation exceptions (sometimes decided wrongly, sometimes racing a re-match). Workload
// extras: withdrawals, deposits, payout runs started again.
import { parseFault } from '../gateway/simulator/faults';
import { signNotification, unixSeconds } from '../gateway/signing';
import { formatAmount } from '../ledger/money';
import { PROCESS_KINDS, type ProcessKind } from './stack';
import type { Prng } from './prng';
import {
  contradictingNotice,
  latestOrders,
  mismatchingNotices,
  resendNotices,
  statementError,
  type ContradictionVariant,
  type StatementErrorVariant,
} from './gateway-faults';
import {
  actOnRecovery,
  reconcile,
  resolveExceptions,
  resolveRacingRematch,
  resolveReviews,
  utcDay,
} from './operators';
import { overlappingRuns, withdraw } from './workload';
import { count, sleep, type RunState } from './world';

/**
 * Gateway call faults and notification faults (gateway/README.md), all resolvable by query or
 * review.
 */
export const GATEWAY_FAULTS = [
  'timeout-then-execute',
  'timeout-no-execute',
  'lie-failed',
  'lie-failed:INVALID_ACCOUNT',
  'processing-then-success',
  'processing-then-fail',
  'processing-stuck',
  'error-5xx-after-execute',
  'error-5xx-before-execute',
  'reset-after-execute',
  'reset-before-execute',
  'fail:INSUFFICIENT_FUNDS',
  'fail:SYSTEM_BUSY',
  'notify-duplicate',
  'notify-late',
  'notify-out-of-order',
  'notify-wrong-amount',
  'notify-bad-signature',
  'notify-status-0',
  'notify-none',
] as const;
const NOTIFY = (spec: string) => spec.startsWith('notify-');
/**
 * Orders on the default query policy (deposits, withdrawals) are queried for minutes when every
 * answer stays unknown: no stuck orders, and no failures with a code that is not definitive (each
 * query says FAILED SYSTEM_BUSY again), in a table set while they run.
 */
const SLOW_FOR_DEPOSITS = new Set(['processing-stuck', 'fail:SYSTEM_BUSY']);

export type Step =
  /** After the restart, `resend` notices the gateway delivered before are delivered again. */
  | { kind: 'kill'; target: ProcessKind; downMs: number; resend: number; pick: number }
  | { kind: 'temporal-restart' }
  | { kind: 'pg-restart'; downMs: number }
  | { kind: 'gateway-rates'; rates: { spec: string; rate: number }[] }
  | { kind: 'outage'; mode: 'refuse' | '503'; ms: number }
  | { kind: 'second-channel' }
  | { kind: 'forged-notice'; pick: number }
  | { kind: 'mismatching-notices'; pick: number }
  | { kind: 'contradicting-notice'; variant: ContradictionVariant; pick: number }
  | { kind: 'reviews'; wrongRate: number; raceRate: number }
  /**
   * `statement`: an error put in today's statement first; `race`: exceptions decided while a
   * re-match runs.
   */
  | {
      kind: 'recon';
      statement?: StatementErrorVariant;
      pick: number;
      race: boolean;
      wrongRate: number;
    }
  | { kind: 'recovery'; writeOff: boolean }
  | { kind: 'withdraw'; investor: number; fraction: number }
  | { kind: 'payout-run-again' };

export interface ScheduledStep {
  pauseMs: number;
  step: Step;
}

/**
 * Weights out of 100, sized so 200 seeds of 40 steps inject every kind 50 times
 * (docs/reliability.md, "Coverage").
 */
export const STEP_WEIGHTS = {
  kill: 12,
  'temporal-restart': 2,
  'pg-restart': 3,
  'gateway-rates': 20,
  outage: 5,
  'second-channel': 3,
  'forged-notice': 3,
  'mismatching-notices': 4,
  'contradicting-notice': 5,
  reviews: 19,
  recon: 9,
  recovery: 3,
  withdraw: 10,
  'payout-run-again': 5,
} as const;
export type StepKind = keyof typeof STEP_WEIGHTS;
type StepOf<K extends StepKind> = Extract<Step, { kind: K }>;
/**
 * Weights changed for a run (`--weight pg-restart=30`): a seed's schedule is the seed's and these.
 */
export type WeightOverrides = Partial<Record<StepKind, number>>;

export function drawSchedule(
  rng: Prng,
  steps: number,
  overrides: WeightOverrides = {},
): ScheduledStep[] {
  const weights = { ...STEP_WEIGHTS, ...overrides };
  const out: ScheduledStep[] = [];
  for (let i = 0; i < steps; i++) {
    // The first step is a rate table, so the deposits meet the gateway's faults too.
    const kind = i === 0 ? 'gateway-rates' : rng.weighted(weights);
    // The pause is drawn before the step's own draws: the order that replays a seed.
    const pauseMs = rng.int(300, 2_500);
    out.push({ pauseMs, step: drawStep(rng, kind) });
  }
  return out;
}

/** One step of a drawn kind, with everything it needs drawn now. */
function drawStep(rng: Prng, kind: StepKind): Step {
  switch (kind) {
    case 'kill':
      return {
        kind,
        target: rng.pick(PROCESS_KINDS),
        downMs: rng.int(0, 1_500),
        resend: rng.int(0, 3),
        pick: rng.int(0, 1_000),
      };
    case 'pg-restart':
      return { kind, downMs: rng.int(0, 1_500) };
    case 'gateway-rates':
      return { kind, rates: drawRates(rng) };
    // Some outages outlast a loan payout's query window (about 10 s): those orders wait for an
    // operator (the reviews an operator may decide wrongly come mostly from these).
    case 'outage':
      return {
        kind,
        mode: rng.pick(['refuse', '503'] as const),
        ms: rng.chance(0.4) ? rng.int(10_000, 16_000) : rng.int(500, 3_000),
      };
    case 'forged-notice':
    case 'mismatching-notices':
      return { kind, pick: rng.int(0, 1_000) };
    case 'contradicting-notice':
      return {
        kind,
        variant: rng.pick(['says-success', 'says-failed'] as const),
        pick: rng.int(0, 1_000),
      };
    case 'reviews':
      return { kind, wrongRate: rng.pick([0.3, 0.6]), raceRate: rng.pick([0.2, 0.5]) };
    case 'recon':
      return drawRecon(rng);
    case 'recovery':
      return { kind, writeOff: rng.chance(0.5) };
    case 'withdraw':
      return { kind, investor: rng.int(0, 1_000), fraction: rng.int(5, 60) / 100 };
    default:
      return { kind };
  }
}

/**
 * A fault table. A fault counts only when a submit meets it, and a seed has some 30-50 submits
 * under faults: each call fault is in 45 % of the tables at 5-15 %, each notification fault in 35 %
 * at 15-45 %.
 */
function drawRates(rng: Prng): { spec: string; rate: number }[] {
  const call = shuffled(
    rng,
    rng.some(
      GATEWAY_FAULTS.filter((f) => !NOTIFY(f)),
      0.45,
    ),
  ).map((spec) => ({ spec, rate: rng.int(5, 15) / 100 }));
  const notify = rng
    .some(GATEWAY_FAULTS.filter(NOTIFY), 0.35)
    .map((spec) => ({ spec, rate: rng.int(15, 45) / 100 }));
  return [...withinOne(call), ...notify];
}

/** A reconciliation step: mostly after a statement error, sometimes racing a re-match. */
function drawRecon(rng: Prng): StepOf<'recon'> {
  const statement = rng.chance(0.8) ? rng.pick(['amount', 'fee', 'duplicate'] as const) : undefined;
  return {
    kind: 'recon',
    ...(statement ? { statement } : {}),
    pick: rng.int(0, 1_000),
    race: rng.chance(0.5),
    wrongRate: rng.pick([0.2, 0.5]),
  };
}

/**
 * Seeded order, so a table that cannot hold every drawn fault drops none more often than another.
 */
function shuffled<T>(rng: Prng, items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Call faults exclude each other (one draw per submit picks at most one): their rates must add up
 * to at most 1.
 */
function withinOne(rates: { spec: string; rate: number }[]): { spec: string; rate: number }[] {
  let total = 0;
  return rates.filter((r) => (total + r.rate <= 1 ? ((total += r.rate), true) : false));
}

export function describe(step: Step): string {
  switch (step.kind) {
    case 'kill':
      return `SIGKILL ${step.target}, down ${step.downMs} ms${step.resend ? `, then ${step.resend} notice(s) re-sent` : ''}`;
    case 'pg-restart':
      return `postgres immediate shutdown, down ${step.downMs} ms`;
    case 'gateway-rates':
      return `gateway rates ${step.rates.map((r) => `${r.spec}=${r.rate}`).join(',') || '(none)'}`;
    case 'outage':
      return `gateway outage ${step.mode} ${step.ms} ms`;
    case 'reviews':
      return `operator resolves reviews (wrong ${step.wrongRate * 100}%, racing a notice ${step.raceRate * 100}%)`;
    case 'contradicting-notice':
      return `a notice that ${step.variant.slice(5)}, contradicting the gateway, with its own key`;
    case 'recon':
      return `reconciliation${step.statement ? ` after a statement error (${step.statement})` : ''}, exceptions decided${step.race ? ' racing a re-match' : ''} (wrong ${step.wrongRate * 100}%)`;
    case 'recovery':
      return `operator ${step.writeOff ? 'writes off' : 'requests the collection of'} a recovery`;
    case 'withdraw':
      return `withdrawal of ${step.fraction * 100}% by investor #${step.investor}`;
    default:
      return step.kind;
  }
}

/**
 * What a schedule would inject, by the counters' names (`npm run chaos -- --plan`): an upper
 * bound where a step may find nothing to act on yet (no payout, no open review), and for the
 * gateway's call and notification faults, how many rate tables hold each (`rates:<fault>`), not
 * how many submits will meet it.
 */
export function planned(schedule: ScheduledStep[]): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (kind: string, n = 1) => {
    out[kind] = (out[kind] ?? 0) + n;
  };
  for (const { step } of schedule) {
    switch (step.kind) {
      case 'kill':
        add(`kill:${step.target}`);
        add('gateway:notice-duplicate-after-restart', step.resend);
        break;
      case 'temporal-restart':
        add('temporal:restart');
        break;
      case 'pg-restart':
        add('postgres:immediate-restart');
        break;
      case 'gateway-rates':
        add('gateway:rates-changed');
        for (const r of step.rates) add(`rates:${r.spec}`);
        break;
      case 'outage':
        add(`gateway:outage-${step.mode}`);
        break;
      case 'second-channel':
        add('gateway:second-channel');
        break;
      case 'forged-notice':
        add('gateway:forged-notice');
        break;
      case 'mismatching-notices':
        for (const v of ['wrong-amount', 'wrong-currency', 'wrong-kind'])
          add(`gateway:notice-${v}`);
        break;
      case 'contradicting-notice':
        add(`gateway:notice-${step.variant}`);
        break;
      case 'recon':
        add('step:recon');
        if (step.statement) add(`gateway:statement-${step.statement}`);
        if (step.race) add('step:recon-racing-rematch');
        break;
      default:
        add(`step:${step.kind}`);
    }
  }
  return out;
}

/** Runs the schedule, step by step, until done or the run's clock says stop. */
export async function runSchedule(state: RunState, schedule: ScheduledStep[]): Promise<void> {
  for (const [i, { pauseMs, step }] of schedule.entries()) {
    if (Date.now() > state.deadlineMs) break;
    await sleep(pauseMs);
    const started = Date.now();
    let outcome: string;
    try {
      outcome = await apply(state, step);
    } catch (err) {
      outcome = `failed: ${(err as Error).message.slice(0, 300)}`;
    }
    state.say(
      `step ${i + 1}/${schedule.length} [${state.phase}] ${describe(step)}: ${outcome} (${Date.now() - started} ms)`,
    );
  }
  // The schedule's faults end with it: what remains is the system settling. Its first step set a
  // rate table, so every order the gateway received so far was sent while faults were drawn.
  state.stack.simulator.setFaultRates([]);
  count(
    state,
    'workload:orders-under-faults',
    state.stack.simulator.truth().filter((o) => !state.secondChannel.has(o.orderNo)).length,
  );
  await state.stack.simulator.endOutage();
}

async function apply(state: RunState, step: Step): Promise<string> {
  const { stack } = state;
  switch (step.kind) {
    case 'kill':
      await stack.killAndRestart(step.target, step.downMs);
      count(state, `kill:${step.target}`);
      return `restarted; ${await resendNotices(state, step.resend, step.pick)}`;
    case 'temporal-restart':
      await stack.restartTemporal();
      count(state, 'temporal:restart');
      return 'restarted on the same database file';
    case 'pg-restart':
      return restartPostgres(state, step);
    case 'gateway-rates':
      return setRates(state, step);
    case 'outage':
      await stack.simulator.startOutage(step.mode, step.ms);
      count(state, `gateway:outage-${step.mode}`);
      return 'started';
    case 'second-channel':
      return secondChannel(state);
    case 'forged-notice':
      return forgedNotice(state, step.pick);
    case 'mismatching-notices':
      return mismatchingNotices(state, step.pick);
    case 'contradicting-notice':
      return contradictingNotice(state, step.variant, step.pick);
    case 'reviews':
      return resolveReviews(state, step.wrongRate, step.raceRate);
    case 'recon':
      return reconcileNow(state, step);
    case 'recovery':
      return actOnRecovery(state, step.writeOff);
    case 'withdraw':
      return withdrawNow(state, step);
    case 'payout-run-again':
      return payoutRunAgain(state);
  }
}

async function restartPostgres(state: RunState, step: StepOf<'pg-restart'>): Promise<string> {
  const before = Date.now();
  await state.stack.restartPostgres(step.downMs);
  count(state, 'postgres:immediate-restart');
  return `stopped -m immediate and started again (crash recovery included: ${Date.now() - before - step.downMs} ms)`;
}

/** The drawn table, less the faults that would hold deposits and withdrawals for minutes. */
function setRates(state: RunState, step: StepOf<'gateway-rates'>): string {
  const slow = state.phase === 'deposits' || state.phase === 'withdrawals';
  const rates = step.rates.filter((r) => !(slow && SLOW_FOR_DEPOSITS.has(r.spec)));
  state.stack.simulator.setFaultRates(
    rates.map((r) => ({ spec: r.spec, fault: parseFault(r.spec), rate: r.rate })),
  );
  count(state, 'gateway:rates-changed');
  return `${rates.length} fault(s) active`;
}

/** Today's reconciliation (after the drawn statement error, if any) and its exceptions decided. */
async function reconcileNow(state: RunState, step: StepOf<'recon'>): Promise<string> {
  const date = utcDay(Date.now());
  const tampered = step.statement
    ? `${await statementError(state, step.statement, step.pick)}; `
    : '';
  const day = await reconcile(state, date, 60_000);
  return (
    tampered +
    (step.race
      ? await resolveRacingRematch(state, date, day, step.wrongRate)
      : await resolveExceptions(state, date, day, { wrongRate: step.wrongRate }))
  );
}

async function withdrawNow(state: RunState, step: StepOf<'withdraw'>): Promise<string> {
  if (state.investors.length === 0) return 'no investors yet';
  count(state, 'workload:withdrawal');
  return withdraw(
    state,
    state.investors[step.investor % state.investors.length],
    step.fraction,
    `s${state.faults['workload:withdrawal']}`,
  );
}

/** The latest loan's last distributed installment, its payout runs started again. */
async function payoutRunAgain(state: RunState): Promise<string> {
  const loanId = state.loanIds[state.loanIds.length - 1];
  if (!loanId) return 'no loan yet';
  const { rows } = await state.stack.db.query<{ n: number }>(
    `SELECT max(n)::int AS n FROM loan_installments WHERE loan_id = $1 AND status IN ('DISTRIBUTED', 'PAID_OUT')`,
    [loanId],
  );
  if (rows[0].n === null) return 'nothing distributed yet';
  await overlappingRuns(state, loanId, rows[0].n, false);
  count(state, 'workload:payout-run-again');
  return `installment ${rows[0].n}`;
}

/**
 * The incident: the gateway pays a succeeded scheduled payout (or, before any, a withdrawal) a
 * second time through another channel.
 */
async function secondChannel(state: RunState): Promise<string> {
  const { rows } = await state.stack.db.query<{
    party_id: string;
    amount_minor: string;
    order_no: string;
  }>(
    `SELECT party_id, amount_minor::text, order_no FROM payouts WHERE purpose <> 'disbursement' AND status = 'SUCCEEDED'
     ORDER BY purpose = 'scheduled' DESC, settled_at DESC, id LIMIT 10`,
  );
  const victim = rows.find(
    (r) =>
      !state.secondChannel.has(`${r.order_no}-ch2`.slice(0, 64)) && !state.tampered.has(r.order_no),
  );
  if (!victim)
    return rows.length
      ? 'the latest payouts were paid twice already'
      : 'no payout to an investor succeeded yet';
  const orderNo = `${victim.order_no}-ch2`.slice(0, 64);
  const res = await fetch(`${state.stack.simulator.url}/_sim/executed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      kind: 'PAYOUT',
      orderNo,
      amount: formatAmount(BigInt(victim.amount_minor), 'CNY'),
      currency: 'CNY',
    }),
  });
  if (!res.ok) return `refused by the simulator: HTTP ${res.status} ${await res.text()}`;
  state.secondChannel.set(orderNo, victim.party_id);
  count(state, 'gateway:second-channel');
  return `${orderNo} paid again to ${victim.party_id}`;
}

/**
 * A notice claiming SUCCESS for one of our latest orders, with its exact amount, signed with a key
 * that is not the gateway's: it must be refused (401) and change nothing (the invariants would see
 * a payout posted that the gateway never executed).
 */
async function forgedNotice(state: RunState, pick: number): Promise<string> {
  const rows = await latestOrders(state, 20);
  if (rows.length === 0) return 'no order yet';
  const order = rows[pick % rows.length];
  const raw = JSON.stringify({
    notifyId: `forged-${order.order_no.slice(0, 40)}-${pick}`,
    orderNo: order.order_no,
    kind: order.kind,
    status: 'SUCCESS',
    amount: formatAmount(BigInt(order.amount_minor), 'CNY'),
    currency: 'CNY',
    gatewayTradeNo: `forged-${pick}`,
    eventSeq: 2,
    eventTime: new Date().toISOString(),
  });
  const timestamp = unixSeconds(Date.now());
  const res = await fetch(`${state.stack.api.baseUrl}/v1/gateway/notifications`, {
    method: 'POST',
    body: raw,
    signal: AbortSignal.timeout(10_000),
    headers: {
      'content-type': 'application/json',
      'x-gateway-timestamp': timestamp,
      'x-gateway-signature': signNotification('not-the-gateways-secret-0123456789', timestamp, raw),
    },
  });
  count(state, 'gateway:forged-notice');
  if (res.status !== 401)
    state.alarms.push({
      invariant: 'notices-verified',
      detail: `a notice signed with another key for ${order.order_no} was answered ${res.status}, not 401`,
    });
  return `SUCCESS for ${order.order_no}, signed with another key → ${res.status}${res.status === 401 ? '' : ' (NOT REFUSED)'}`;
}
