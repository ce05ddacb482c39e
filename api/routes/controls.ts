// The emergency stop (API.md, issue 19 item 3): an operator pauses payouts, collections or both on
// a channel; while paused no new order of that scope reaches the gateway (activities/
// gateway-pause.ts) and the workflows that would send one wait, findable as GatewayPause =
// "Paused". Resuming is its own explicit act. Both are audited with the reason.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { inTransaction } from '../../db/pool';
import { DEFAULT_CHANNEL } from '../../payments/channels';
import {
  listPauses,
  pauseGateway,
  resumeGateway,
  type PauseTarget,
} from '../../payments/gateway-pauses';
import { gatewayResumedSignal } from '../../workflows/contracts/controls';
import type { AppContext } from '../app';
import { actorOf, requireRole } from '../auth';
import { documentedList } from '../contract';
import { ApiError } from '../errors';
import { AUTH_ERRORS, ERROR_RESPONSE } from '../schemas';

const CHANNELS = [DEFAULT_CHANNEL];
const PAUSE_FIELDS = {
  scope: 'payouts or collections',
  channel: 'the gateway channel',
  reason: 'why it was paused',
  pausedBy: 'the key that paused it',
  since: 'ISO time',
};
const PAUSES = {
  type: 'object',
  description: 'what is paused now',
  properties: { paused: documentedList('the pauses in force', PAUSE_FIELDS) },
} as const;
const CHANGED = {
  200: {
    ...PAUSES,
    properties: {
      ...PAUSES.properties,
      changed: {
        type: 'array',
        description: 'the scopes this request paused or resumed (none when already paused)',
        items: { type: 'string' },
      },
    },
  },
  ...AUTH_ERRORS,
  409: ERROR_RESPONSE,
} as const;
const CHANGE_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['scope', 'channel', 'reason'],
  properties: {
    scope: { type: 'string', enum: ['payouts', 'collections', 'all'] },
    channel: { type: 'string', enum: CHANNELS },
    reason: { type: 'string', minLength: 3, maxLength: 500 },
  },
} as const;

interface Change {
  scope: PauseTarget;
  channel: string;
  reason: string;
}

export function registerControlRoutes(app: FastifyInstance, context: AppContext): void {
  app.get(
    '/v1/controls',
    {
      schema: {
        summary: 'what the emergency stop pauses now',
        response: {
          200: PAUSES,
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      requireRole(request.principal, ['operator', 'admin']);
      return { paused: await listPauses(context.pool) };
    },
  );
  registerChangeRoute(app, context, 'pause');
  registerChangeRoute(app, context, 'resume');
}

function registerChangeRoute(
  app: FastifyInstance,
  context: AppContext,
  verb: 'pause' | 'resume',
): void {
  app.post<{ Body: Change }>(
    `/v1/controls/${verb}`,
    {
      schema: {
        summary:
          verb === 'pause'
            ? 'stop new payouts and/or collections on a channel from reaching the gateway (orders in flight finish their query path)'
            : 'let paused payouts and/or collections go out again; the waiting workflows send their orders',
        body: CHANGE_BODY,
        response: CHANGED,
      },
    },
    async (request) => {
      requireRole(request.principal, ['operator', 'admin']);
      const change = {
        target: request.body.scope,
        channel: request.body.channel,
        reason: request.body.reason,
        actor: actorOf(request.principal),
        requestId: request.id,
      };
      const { changed, paused } = await inTransaction(context.pool, async (tx) => ({
        changed: await (verb === 'pause' ? pauseGateway : resumeGateway)(tx, change),
        paused: await listPauses(tx),
      }));
      if (verb === 'resume' && changed.length === 0)
        throw new ApiError(
          409,
          'NOT_PAUSED',
          `${request.body.scope} on ${change.channel} is not paused`,
        );
      if (verb === 'resume') await tellWaiting(context, request);
      return { paused, changed };
    },
  );
}

/**
 * Tells the workflows waiting out a pause to ask again now. Best-effort: each also asks by itself
 * every few minutes (workflows/gateway-pause.ts), and one still paused waits again.
 */
async function tellWaiting(context: AppContext, request: FastifyRequest): Promise<void> {
  if (!context.temporal) return;
  try {
    for await (const wf of context.temporal.workflow.list({
      query: `GatewayPause = 'Paused' AND ExecutionStatus = 'Running'`,
    })) {
      await context.temporal.workflow
        .getHandle(wf.workflowId)
        .signal(gatewayResumedSignal)
        .catch((err) => request.log.warn({ err, workflowId: wf.workflowId }, 'not told resumed'));
    }
  } catch (err) {
    request.log.warn({ err }, 'the waiting workflows were not told of the resume');
  }
}
