// A workflow's side of the emergency stop: a submit the pause stopped (GatewayPaused, from
// activities/gateway-pause.ts) waits, findable as GatewayPause = "Paused" with the pause in its
// evidence, and is sent again once resumed: told by the API's gatewayResumed signal, or asked
// again by itself, soon at first and then every few minutes, in case the signal missed it (a
// workflow stopped just as the pause was lifted is not listed yet when the API tells the others).
// Nothing here runs unless a pause stopped a submit, so histories from before replay unchanged.
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { SearchAttributes } from './contracts/common';
import { GATEWAY_PAUSED, gatewayResumedSignal, type PauseShown } from './contracts/controls';

const FIRST_ASK_AGAIN_MS = 10_000;
const ASK_AGAIN_AT_MOST_MS = 5 * 60_000;

let resumed = false;
let listening = false;

/** The pause that stopped this submit, or undefined for any other failure. */
function pauseIn(err: unknown): PauseShown | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure) || cause.type !== GATEWAY_PAUSED) return undefined;
  return (cause.details?.[0] as PauseShown | undefined) ?? undefined;
}

/**
 * Runs `submit`; while a pause stops it, shows the pause (through `show`) and waits to send it
 * again. Any other failure is the caller's.
 */
export async function submitUnlessPaused<T>(
  submit: () => Promise<T>,
  show: (pause: PauseShown | undefined) => void,
): Promise<T> {
  let askAgainMs = FIRST_ASK_AGAIN_MS;
  for (let waited = false; ;) {
    try {
      const sent = await submit();
      if (waited) {
        upsertSearchAttributes([{ key: SearchAttributes.GatewayPause, value: 'Resumed' }]);
        show(undefined);
      }
      return sent;
    } catch (err) {
      const pause = pauseIn(err);
      if (!pause) throw err;
      if (!listening) {
        listening = true;
        setHandler(gatewayResumedSignal, () => void (resumed = true));
      }
      if (!waited)
        upsertSearchAttributes([{ key: SearchAttributes.GatewayPause, value: 'Paused' }]);
      waited = true;
      show(pause);
      resumed = false;
      await condition(() => resumed, askAgainMs);
      askAgainMs = Math.min(askAgainMs * 2, ASK_AGAIN_AT_MOST_MS);
    }
  }
}
