/**
 * Fault injection: the names, how a per-call header or a rate table turns into a plan, and the
 * seeded draw. gateway/README.md lists what each fault does.
 */
import { uniform } from './prng';

/** What happens to one submit call (at most one per call). */
export type CallFault =
  | { type: 'fail'; code: string }
  | { type: 'processing-then-success' }
  | { type: 'processing-then-fail'; code: string }
  | { type: 'processing-stuck' }
  | { type: 'timeout-then-execute' }
  | { type: 'timeout-no-execute' }
  | { type: 'lie-failed'; code: string }
  | { type: 'error-5xx-before-execute' }
  | { type: 'error-5xx-after-execute' }
  | { type: 'reset-before-execute' }
  | { type: 'reset-after-execute' };

export const NOTIFY_FAULTS = [
  'notify-late',
  'notify-duplicate',
  'notify-out-of-order',
  'notify-wrong-amount',
  'notify-status-0',
  'notify-bad-signature',
  'notify-none',
] as const;
export type NotifyFault = (typeof NOTIFY_FAULTS)[number];

export interface FaultPlan {
  call?: CallFault;
  notify: NotifyFault[];
}

export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

const DEFAULT_CODES = {
  fail: 'INSUFFICIENT_FUNDS',
  'processing-then-fail': 'INSUFFICIENT_FUNDS',
  'lie-failed': 'SYSTEM_BUSY',
} as const;
const PLAIN_CALL_FAULTS = [
  'processing-then-success',
  'processing-stuck',
  'timeout-then-execute',
  'timeout-no-execute',
  'error-5xx-before-execute',
  'error-5xx-after-execute',
  'reset-before-execute',
  'reset-after-execute',
] as const;

/** One token: `fail:INVALID_ACCOUNT`, `timeout-then-execute`, `notify-duplicate`, ... */
export function parseFault(token: string): CallFault | NotifyFault {
  const [name, code, extra] = token.trim().split(':');
  if (extra !== undefined || (code !== undefined && !/^[A-Z0-9_]{1,40}$/.test(code)))
    throw new FaultSpecError(`bad fault '${token}'`);
  if ((NOTIFY_FAULTS as readonly string[]).includes(name) && code === undefined)
    return name as NotifyFault;
  if ((PLAIN_CALL_FAULTS as readonly string[]).includes(name) && code === undefined)
    return { type: name as (typeof PLAIN_CALL_FAULTS)[number] };
  if (name === 'fail' || name === 'processing-then-fail' || name === 'lie-failed')
    return { type: name, code: code ?? DEFAULT_CODES[name] };
  throw new FaultSpecError(`unknown fault '${token}'`);
}

function isNotifyFault(fault: CallFault | NotifyFault): fault is NotifyFault {
  return typeof fault === 'string';
}

/** The X-Sim-Fault header: comma-separated tokens, at most one call fault. */
export function parseFaultHeader(header: string): FaultPlan {
  const plan: FaultPlan = { notify: [] };
  for (const token of header.split(',').filter((t) => t.trim() !== '')) {
    const fault = parseFault(token);
    if (isNotifyFault(fault)) plan.notify.push(fault);
    else if (plan.call) throw new FaultSpecError('at most one call fault per request');
    else plan.call = fault;
  }
  return plan;
}

export interface FaultRate {
  spec: string;
  fault: CallFault | NotifyFault;
  rate: number;
}

/** `timeout-then-execute=0.05,fail:REJECTED=0.01,notify-duplicate=0.2` */
export function parseFaultRates(text: string): FaultRate[] {
  const rates: FaultRate[] = [];
  for (const item of text.split(',').filter((t) => t.trim() !== '')) {
    const [spec, value] = item.split('=').map((s) => s.trim());
    rates.push({ spec, fault: parseFault(spec), rate: Number(value) });
  }
  return validateRates(rates);
}

export function validateRates(rates: FaultRate[]): FaultRate[] {
  let callTotal = 0;
  for (const r of rates) {
    if (!(r.rate >= 0 && r.rate <= 1))
      throw new FaultSpecError(`rate of '${r.spec}' must be within 0..1`);
    if (!isNotifyFault(r.fault)) callTotal += r.rate;
  }
  // Call faults exclude each other: one draw picks at most one, so they must fit in 1.
  if (callTotal > 1 + 1e-9)
    throw new FaultSpecError(`call fault rates add up to ${callTotal}, more than 1`);
  return rates;
}

/**
 * The plan for a call without a header: one draw for the call fault (cumulative over the call
 * rates), one independent draw per notification fault.
 */
export function drawFaultPlan(
  rates: readonly FaultRate[],
  seed: string,
  orderNo: string,
  callIndex: number,
): FaultPlan {
  const plan: FaultPlan = { notify: [] };
  const callDraw = uniform(seed, orderNo, String(callIndex), 'call');
  let cumulative = 0;
  for (const r of rates) {
    if (isNotifyFault(r.fault)) {
      if (uniform(seed, orderNo, String(callIndex), r.spec) < r.rate) plan.notify.push(r.fault);
      continue;
    }
    cumulative += r.rate;
    if (!plan.call && callDraw < cumulative) plan.call = r.fault;
  }
  return plan;
}
