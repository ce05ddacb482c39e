// The activities through which a workflow reads what it is told to act on: an operator decision
// (taken once, by its id) and a gateway notice (the row the API stored after verifying it). A
// refusal is recorded (operator_decision_refusals, the API's metric) and logged as an alert.
import { log } from '@temporalio/activity';
import type { Pool } from 'pg';
import {
  recordRefusal,
  takeDecision,
  type DecisionClaim,
  type TakeResult,
} from '../decisions/operator-decisions';
import type { VerifiedGatewayNotice } from '../workflows/contracts/gateway-order';

export function createDecisionActivities(deps: { pool: Pool }) {
  const { pool } = deps;
  return {
    async takeOperatorDecision(claim: DecisionClaim): Promise<TakeResult> {
      const taken = await takeDecision(pool, claim);
      if (!taken.ok)
        log.error('ALERT: operator decision refused', {
          workflowId: claim.workflowId,
          kind: claim.kind,
          why: taken.why,
        });
      return taken;
    },

    /**
     * The verified notice the API stored for this order, or null (refused: recorded, alert).
     * Only a success, or a failure on the definitive list, settles an order.
     */
    async storedGatewayNotice(input: {
      notifyId: unknown;
      orderNo: string;
      workflowId: string;
    }): Promise<VerifiedGatewayNotice | null> {
      const notifyId = typeof input.notifyId === 'string' ? input.notifyId : '';
      const {
        rows: [n],
      } =
        notifyId === ''
          ? { rows: [] }
          : await pool.query<{ status: string; definitive: boolean; code: string | null }>(
              `SELECT status, definitive, code FROM gateway_notices WHERE notify_id = $1 AND order_no = $2`,
              [notifyId, input.orderNo],
            );
      if (n && (n.status === 'SUCCESS' || n.definitive)) {
        return {
          notifyId,
          orderNo: input.orderNo,
          outcome: n.status === 'SUCCESS' ? 'succeeded' : 'failed',
          ...(n.code ? { code: n.code } : {}),
        };
      }
      const why = n
        ? `notice ${notifyId} is a failure that is not definitive`
        : `no verified notice ${notifyId.slice(0, 100)} for order ${input.orderNo}`;
      await recordRefusal(pool, input.workflowId, 'gateway.notice', notifyId, why);
      log.error('ALERT: gateway notice signal refused', { workflowId: input.workflowId, why });
      return null;
    },
  };
}

export type DecisionActivities = ReturnType<typeof createDecisionActivities>;
