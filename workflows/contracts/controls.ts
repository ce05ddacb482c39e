// The emergency stop's messages (payments/gateway-pauses.ts). Plain names only (no workflow code):
// workflows, activities, the API and tests import them.
import { defineSignal } from '@temporalio/workflow';

/** The failure type of a submit stopped by a pause (activities/gateway-pause.ts). */
export const GATEWAY_PAUSED = 'GatewayPaused';

/** What a waiting workflow shows of the pause it waits out (its evidence, the Web UI's query). */
export interface PauseShown {
  scope: string;
  channel: string;
  reason: string;
  pausedBy: string;
  since: string;
}

/** Sent by the API to the workflows waiting out a pause when it is resumed: ask again now. */
export const gatewayResumedSignal = defineSignal('gatewayResumed');
