import type { QueryOutcome, SubmitOutcome } from '../gateway/outcomes';
import type { GatewayOutcome } from '../workflows/contracts/gateway-order';

/** A gateway outcome as plain data for a workflow (no bigints, no order details). */
export function toPlainOutcome(outcome: SubmitOutcome | QueryOutcome): GatewayOutcome {
  switch (outcome.kind) {
    case 'succeeded':
      return { kind: 'succeeded' };
    case 'failed':
      return { kind: 'failed', code: outcome.code };
    case 'not_sent':
      return { kind: 'not_sent', reason: outcome.reason };
    case 'unknown':
      return { kind: 'unknown', reason: outcome.reason };
    default:
      return { kind: outcome.kind };
  }
}
