// What a workflow acts on when an operator decides: only a decision the API recorded, for this
// workflow and this kind, not used before (decisions/operator-decisions.ts). The Update carries
// the decision's id; whatever else it carries (an `operator` typed into the Web UI's dialog) is
// ignored. A refusal fails the Update with nothing changed, and is recorded by the activity.
import { ApplicationFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { DecisionActivities } from '../activities/decisions';
import type { DecisionKind, TakenDecision } from '../decisions/operator-decisions';
import { DECISION_OPTIONS } from './retry-policies';

const decisions = proxyActivities<DecisionActivities>(DECISION_OPTIONS);

/**
 * The patch that moved operator decisions to rows: histories from before it carry the decision in
 * the Update.
 */
export const DECISION_ROWS_PATCH = 'operator-decision-rows';
/**
 * The later patch that moved a party's own signals (cancel, collect now) and the loan's decision
 * check to rows.
 */
export const PARTY_DECISION_ROWS_PATCH = 'party-decision-rows';

/**
 * One gate per workflow execution (module state is the execution's own), so every attempt's review
 * shares what was seen.
 */
let gate: DecisionGate | undefined;
export function decisionGate(): DecisionGate {
  return (gate ??= new DecisionGate());
}

/**
 * Whether this Update or Signal is handled by decision rows: yes for every live one, old workflows
 * included (a review open when this code was deployed takes the new path from its next Update);
 * no only when replaying a history from before, where the old handler ran.
 */
export function decisionRows(): boolean {
  return patched(DECISION_ROWS_PATCH);
}

/** The same, for a party's own signals (a later change, with a patch of its own). */
export function partyDecisionRows(): boolean {
  return patched(PARTY_DECISION_ROWS_PATCH);
}

export class DecisionGate {
  /** Ids this run was told of: a second Update with one of them is a replay. */
  private readonly seen = new Set<string>();

  async take(kind: DecisionKind, input: unknown): Promise<TakenDecision> {
    const decisionId = (input as { decisionId?: unknown } | undefined)?.decisionId;
    const key = typeof decisionId === 'string' ? decisionId : '';
    const seenInRun = this.seen.has(key);
    this.seen.add(key); // before the activity: two Updates racing with one id are one use
    const { workflowId, runId } = workflowInfo();
    const taken = await decisions.takeOperatorDecision({
      decisionId,
      workflowId,
      runId,
      kind,
      seenInRun,
    });
    if (!taken.ok)
      throw ApplicationFailure.create({
        type: 'DecisionRefused',
        message: taken.why,
        nonRetryable: true,
      });
    return taken;
  }

  /**
   * For a Signal (which cannot fail): the decision, or undefined when refused (recorded, alerted).
   */
  async tryTake(kind: DecisionKind, input: unknown): Promise<TakenDecision | undefined> {
    try {
      return await this.take(kind, input);
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === 'DecisionRefused') return undefined;
      throw err;
    }
  }

  /** The stored, verified notice a gatewayNotice signal names, or undefined (refused, recorded). */
  async notice(notifyId: unknown, orderNo: string) {
    return (
      (await decisions.storedGatewayNotice({
        notifyId,
        orderNo,
        workflowId: workflowInfo().workflowId,
      })) ?? undefined
    );
  }
}

/**
 * A refusal found in the workflow after the decision was taken (the state moved on): the Update
 * fails.
 */
export function refuse(message: string): never {
  throw ApplicationFailure.create({ type: 'DecisionRefused', message, nonRetryable: true });
}
