// The chaos schedule: `steps` actions drawn up front from the seed, each after a seeded pause,
// run beside the workload. Faults: SIGKILL and restart of the worker, the dispatcher or the API;
// a Temporal dev server kill and restart on its database file; an immediate shutdown of the run's
// own Postgres (`pg_ctl -m immediate`) and its restart; the gateway's fault rates changed
// (timeouts that still execute, lies with listed and unlisted codes, orders stuck PROCESSING,
// 5xx and resets after executing, duplicate, late, out-of-order, wrong-amount and badly signed
// notifications); outages; a second-channel payment. Operators: reviews (sometimes decided
// against the gateway's record) and reconciliation exceptions. Workload extras: withdrawals,
// deposits, payout runs started again.
import { parseFault } from '../gateway/simulator/faults';
import { signNotification, unixSeconds } from '../gateway/signing';
import { formatAmount } from '../ledger/money';
import { PROCESS_KINDS, type ProcessKind } from './stack';
import type { Prng } from './prng';
import { actOnRecovery, reconcile, resolveExceptions, resolveReviews, utcDay } from './operators';
import { overlappingRuns, withdraw } from './workload';
import { count, sleep, type RunState } from './world';

/** Gateway call faults and notification faults (gateway/README.md), all resolvable by query or review. */
export const GATEWAY_FAULTS = [
  'timeout-then-execute', 'timeout-no-execute', 'lie-failed', 'lie-failed:INVALID_ACCOUNT', 'processing-then-success',
  'processing-then-fail', 'processing-stuck', 'error-5xx-after-execute', 'error-5xx-before-execute', 'reset-after-execute',
  'fail:INSUFFICIENT_FUNDS', 'fail:SYSTEM_BUSY', 'notify-duplicate', 'notify-late', 'notify-out-of-order', 'notify-wrong-amount',
  'notify-bad-signature', 'notify-status-0', 'notify-none',
] as const;
const NOTIFY = (spec: string) => spec.startsWith('notify-');
/** Orders on the default query policy (deposits, withdrawals) are queried for minutes: no stuck orders while they run. */
const SLOW_FOR_DEPOSITS = new Set(['processing-stuck']);

export type Step =
  | { kind: 'kill'; target: ProcessKind; downMs: number }
  | { kind: 'temporal-restart' }
  | { kind: 'pg-restart'; downMs: number }
  | { kind: 'gateway-rates'; rates: { spec: string; rate: number }[] }
  | { kind: 'outage'; mode: 'refuse' | '503'; ms: number }
  | { kind: 'second-channel' }
  | { kind: 'forged-notice'; pick: number }
  | { kind: 'reviews'; wrongRate: number }
  | { kind: 'recon' }
  | { kind: 'recovery'; writeOff: boolean }
  | { kind: 'withdraw'; investor: number; fraction: number }
  | { kind: 'payout-run-again' };

export interface ScheduledStep { pauseMs: number; step: Step }

export function drawSchedule(rng: Prng, steps: number): ScheduledStep[] {
  const out: ScheduledStep[] = [];
  for (let i = 0; i < steps; i++) {
    const kind = rng.weighted({
      kill: 14, 'temporal-restart': 2, 'pg-restart': 3, 'gateway-rates': 20, outage: 5, 'second-channel': 3, 'forged-notice': 3, reviews: 22, recon: 8, recovery: 3, withdraw: 12, 'payout-run-again': 6,
    } as const);
    const pauseMs = rng.int(300, 2_500);
    let step: Step;
    switch (kind) {
      case 'kill': step = { kind, target: rng.pick(PROCESS_KINDS), downMs: rng.int(0, 1_500) }; break;
      case 'pg-restart': step = { kind, downMs: rng.int(0, 1_500) }; break;
      case 'gateway-rates': {
        const call = rng.some(GATEWAY_FAULTS.filter((f) => !NOTIFY(f)), 0.2).map((spec) => ({ spec, rate: rng.int(3, 12) / 100 }));
        const notify = rng.some(GATEWAY_FAULTS.filter(NOTIFY), 0.25).map((spec) => ({ spec, rate: rng.int(10, 40) / 100 }));
        step = { kind, rates: [...call.slice(0, 5), ...notify] }; // call faults' rates must add up to at most 1
        break;
      }
      // Some outages outlast a loan payout's query window (about 10 s): those orders wait for an operator.
      case 'outage': step = { kind, mode: rng.pick(['refuse', '503'] as const), ms: rng.chance(0.3) ? rng.int(10_000, 16_000) : rng.int(500, 3_000) }; break;
      case 'forged-notice': step = { kind, pick: rng.int(0, 1_000) }; break;
      case 'reviews': step = { kind, wrongRate: rng.pick([0.2, 0.5]) }; break;
      case 'recovery': step = { kind, writeOff: rng.chance(0.5) }; break;
      case 'withdraw': step = { kind, investor: rng.int(0, 1_000), fraction: rng.int(5, 60) / 100 }; break;
      default: step = { kind };
    }
    out.push({ pauseMs, step });
  }
  return out;
}

export function describe(step: Step): string {
  switch (step.kind) {
    case 'kill': return `SIGKILL ${step.target}, down ${step.downMs} ms`;
    case 'pg-restart': return `postgres immediate shutdown, down ${step.downMs} ms`;
    case 'gateway-rates': return `gateway rates ${step.rates.map((r) => `${r.spec}=${r.rate}`).join(',') || '(none)'}`;
    case 'outage': return `gateway outage ${step.mode} ${step.ms} ms`;
    case 'reviews': return `operator resolves reviews (wrong ${step.wrongRate * 100}%)`;
    case 'recovery': return `operator ${step.writeOff ? 'writes off' : 'requests the collection of'} a recovery`;
    case 'withdraw': return `withdrawal of ${step.fraction * 100}% by investor #${step.investor}`;
    default: return step.kind;
  }
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
    state.say(`step ${i + 1}/${schedule.length} [${state.phase}] ${describe(step)}: ${outcome} (${Date.now() - started} ms)`);
  }
  // The schedule's faults end with it: what remains is the system settling.
  state.stack.simulator.setFaultRates([]);
  await state.stack.simulator.endOutage();
}

async function apply(state: RunState, step: Step): Promise<string> {
  const { stack } = state;
  switch (step.kind) {
    case 'kill':
      await stack.killAndRestart(step.target, step.downMs);
      count(state, `kill:${step.target}`);
      return 'restarted';
    case 'temporal-restart':
      await stack.restartTemporal();
      count(state, 'temporal:restart');
      return 'restarted on the same database file';
    case 'pg-restart': {
      const before = Date.now();
      await stack.restartPostgres(step.downMs);
      count(state, 'postgres:immediate-restart');
      return `stopped -m immediate and started again (crash recovery included: ${Date.now() - before - step.downMs} ms)`;
    }
    case 'gateway-rates': {
      const slow = state.phase === 'deposits' || state.phase === 'withdrawals';
      const rates = step.rates.filter((r) => !(slow && SLOW_FOR_DEPOSITS.has(r.spec)));
      stack.simulator.setFaultRates(rates.map((r) => ({ spec: r.spec, fault: parseFault(r.spec), rate: r.rate })));
      count(state, 'gateway:rates-changed');
      return `${rates.length} fault(s) active`;
    }
    case 'outage':
      await stack.simulator.startOutage(step.mode, step.ms);
      count(state, `gateway:outage-${step.mode}`);
      return 'started';
    case 'second-channel': return secondChannel(state);
    case 'forged-notice': return forgedNotice(state, step.pick);
    case 'reviews': return resolveReviews(state, step.wrongRate);
    case 'recon': {
      const date = utcDay(Date.now());
      const day = await reconcile(state, date, 60_000);
      return resolveExceptions(state, date, day);
    }
    case 'recovery': return actOnRecovery(state, step.writeOff);
    case 'withdraw': {
      if (state.investors.length === 0) return 'no investors yet';
      count(state, 'workload:withdrawal');
      return withdraw(state, state.investors[step.investor % state.investors.length], step.fraction, `s${state.faults['workload:withdrawal']}`);
    }
    case 'payout-run-again': {
      const loanId = state.loanIds[state.loanIds.length - 1];
      if (!loanId) return 'no loan yet';
      const { rows } = await stack.db.query<{ n: number }>(`SELECT max(n)::int AS n FROM loan_installments WHERE loan_id = $1 AND status IN ('DISTRIBUTED', 'PAID_OUT')`, [loanId]);
      if (rows[0].n === null) return 'nothing distributed yet';
      await overlappingRuns(state, loanId, rows[0].n, false);
      count(state, 'workload:payout-run-again');
      return `installment ${rows[0].n}`;
    }
  }
}

/** The incident: the gateway pays a succeeded scheduled payout a second time through another channel. */
async function secondChannel(state: RunState): Promise<string> {
  const { rows: [victim] } = await state.stack.db.query<{ party_id: string; amount_minor: string; order_no: string }>(
    `SELECT party_id, amount_minor::text, order_no FROM payouts WHERE purpose = 'scheduled' AND status = 'SUCCEEDED' ORDER BY settled_at DESC, id LIMIT 1`);
  if (!victim) return 'no scheduled payout succeeded yet';
  const orderNo = `${victim.order_no}-ch2`.slice(0, 64);
  if (state.secondChannel.has(orderNo)) return `${orderNo} already paid twice`;
  const res = await fetch(`${state.stack.simulator.url}/_sim/executed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'PAYOUT', orderNo, amount: formatAmount(BigInt(victim.amount_minor), 'CNY'), currency: 'CNY' }),
  });
  if (!res.ok) return `refused by the simulator: HTTP ${res.status} ${await res.text()}`;
  state.secondChannel.set(orderNo, victim.party_id);
  count(state, 'gateway:second-channel');
  return `${orderNo} paid again to ${victim.party_id}`;
}

/**
 * A notice claiming SUCCESS for one of our orders, with its exact amount, signed with a key that is
 * not the gateway's: it must be refused (401) and change nothing (the invariants would see a
 * payout posted that the gateway never executed).
 */
async function forgedNotice(state: RunState, pick: number): Promise<string> {
  const { rows } = await state.stack.db.query<{ order_no: string; amount_minor: string }>(
    `SELECT order_no, amount_minor::text FROM payouts ORDER BY created_at DESC, id LIMIT 20`);
  if (rows.length === 0) return 'no payout yet';
  const order = rows[pick % rows.length];
  const raw = JSON.stringify({
    notifyId: `forged-${order.order_no.slice(0, 40)}-${pick}`, orderNo: order.order_no, kind: 'PAYOUT', status: 'SUCCESS',
    amount: formatAmount(BigInt(order.amount_minor), 'CNY'), currency: 'CNY', gatewayTradeNo: `forged-${pick}`, eventSeq: 2, eventTime: new Date().toISOString(),
  });
  const timestamp = unixSeconds(Date.now());
  const res = await fetch(`${state.stack.api.baseUrl}/v1/gateway/notifications`, {
    method: 'POST', body: raw, signal: AbortSignal.timeout(10_000),
    headers: { 'content-type': 'application/json', 'x-gateway-timestamp': timestamp, 'x-gateway-signature': signNotification('not-the-gateways-secret-0123456789', timestamp, raw) },
  });
  count(state, 'gateway:forged-notice');
  if (res.status !== 401) state.alarms.push({ invariant: 'notices-verified', detail: `a notice signed with another key for ${order.order_no} was answered ${res.status}, not 401` });
  return `SUCCESS for ${order.order_no}, signed with another key → ${res.status}${res.status === 401 ? '' : ' (NOT REFUSED)'}`;
}
