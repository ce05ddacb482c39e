// The emergency stop where an order leaves: every new payout and collection is checked against the
// pauses (payments/gateway-pauses.ts) right before it is sent, so a pause committed while a
// workflow was already on its way still stops it. Queries are never stopped: an order in flight
// finishes its query path. A stopped submit fails with GatewayPaused, not retried by Temporal; the
// workflow waits (workflows/gateway-pause.ts) and sends it again once resumed.
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { Pool } from 'pg';
import type { GatewayClient } from '../gateway/client';
import { DEFAULT_CHANNEL } from '../payments/channels';
import { pauseOf, type PauseScope } from '../payments/gateway-pauses';
import { GATEWAY_PAUSED } from '../workflows/contracts/controls';

async function refuseWhilePaused(pool: Pool, scope: PauseScope, channel: string): Promise<void> {
  const pause = await pauseOf(pool, scope, channel);
  if (!pause) return;
  throw ApplicationFailure.create({
    type: GATEWAY_PAUSED,
    message: `${scope} on ${channel} are paused by ${pause.pausedBy}: ${pause.reason}`,
    nonRetryable: true,
    // expected while paused: logged at debug, not as an activity failure
    category: ApplicationFailureCategory.BENIGN,
    details: [pause],
  });
}

/**
 * The gateway client activities use: the same client, with payout and collect checked against the
 * pauses of its channel (one channel today, payments/channels.ts).
 */
export function pausableGateway(
  gateway: GatewayClient,
  pool: Pool,
  channel = DEFAULT_CHANNEL,
): GatewayClient {
  const guarded = Object.create(gateway) as GatewayClient;
  guarded.payout = async (request) => {
    await refuseWhilePaused(pool, 'payouts', channel);
    return gateway.payout(request);
  };
  guarded.collect = async (request) => {
    await refuseWhilePaused(pool, 'collections', channel);
    return gateway.collect(request);
  };
  return guarded;
}
