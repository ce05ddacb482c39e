// What every part of a chaos run shares: the stack, the seeded streams, the counters and the log.
import { clearingNets as ledgerClearingNets, gatewayNets } from '../ledger/clearing-nets';
import type { Prng } from './prng';
import type { ChaosStack } from './stack';

export interface Investor {
  id: string;
  key: string;
  /** The verified account on file their deposits and withdrawals name (null: never verified). */
  bankAccountId: string | null;
}

export interface OperatorDecision {
  kind: 'review' | 'exception' | 'write-off' | 'collection-request';
  /**
   * What audit_log's subject names: the workflow id, `{runId}#{exceptionId}`, or the recovery id.
   */
  subject: string;
  decision: string;
  /** Against the gateway's record, on purpose (the evidence allowed it). */
  wrong: boolean;
}

export interface RunState {
  readonly stack: ChaosStack;
  readonly seed: number;
  /**
   * Operators' decisions, drawn as they happen (a stream of its own, so workload timing does not
   * shift the schedule).
   */
  readonly operatorRng: Prng;
  /**
   * Whether an operator acts at once on a recovery they just opened (a stream of its own, forked
   * last, so adding it shifted no other draw).
   */
  readonly recoveryRng: Prng;
  readonly operatorKey: string;
  /** A second operator's key: approves what the first holds for approval (maker-checker). */
  readonly checkerKey: string;
  readonly runId: string;
  phase: string;
  investors: Investor[];
  loanIds: string[];
  readonly faults: Record<string, number>;
  readonly decisions: OperatorDecision[];
  /**
   * Second-channel payments chaos injected at the gateway: order number → the investor it reached.
   */
  readonly secondChannel: Map<string, string>;
  /**
   * Orders chaos tampered with at the gateway by hand (an error in their statement line, a notice
   * contradicting what the gateway did): order number → what. No second fault is stacked on them,
   * and no operator adjusts an order whose statement line chaos falsified (chaos/operators.ts).
   */
  readonly tampered: Map<string, string>;
  /**
   * What a step saw that must never happen (a forged notice accepted): reported with the
   * invariants.
   */
  readonly alarms: { invariant: string; detail: string }[];
  readonly deadlineMs: number;
  say(line: string): void;
}

export function count(state: RunState, kind: string, n = 1): void {
  state.faults[kind] = (state.faults[kind] ?? 0) + n;
}

/**
 * Signed like the clearing account's credits (money out positive): what the gateway moved for the
 * order (its truth).
 */
export function gatewayNet(state: RunState, orderNo: string): bigint {
  const order = state.stack.simulator.truth().find((r) => r.orderNo === orderNo);
  return order ? (gatewayNets([order]).get(orderNo) ?? 0n) : 0n;
}

/** Signed the same way: what the ledger posted for each order on `gateway:default:clearing`. */
export function clearingNets(state: RunState, orderNos: string[]): Promise<Map<string, bigint>> {
  return ledgerClearingNets(state.stack.db, orderNos);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `done` returns a value, within the run's wall-clock bound and `timeoutMs`. */
export async function until<T>(
  state: RunState,
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 500,
): Promise<T> {
  const deadline = Math.min(Date.now() + timeoutMs, state.deadlineMs);
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
