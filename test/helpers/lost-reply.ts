// A worker interceptor that makes an activity's first attempt fail after it ran: its transaction
// committed, its reply never reached the workflow, as a crash between commit and reply would.
// Temporal then retries it, which is what idempotent activities must survive.
import type { Context } from '@temporalio/activity';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  Next,
} from '@temporalio/worker';

export interface LostReplies {
  /** Where a first attempt's reply was lost: the workflow id of each. */
  readonly lost: string[];
  /** For Worker.create({ interceptors: { activity: [factory] } }). */
  readonly factory: (ctx: Context) => { inbound: ActivityInboundCallsInterceptor };
}

/** Loses the first attempt's reply of the activities `lose` picks (by type and arguments). */
export function loseFirstReply(
  lose: (activityType: string, args: unknown[]) => boolean,
): LostReplies {
  const lost: string[] = [];
  const factory = (ctx: Context) => ({
    inbound: {
      async execute(
        input: ActivityExecuteInput,
        next: Next<ActivityInboundCallsInterceptor, 'execute'>,
      ): Promise<unknown> {
        const result = await next(input);
        if (ctx.info.attempt === 1 && lose(ctx.info.activityType, input.args)) {
          lost.push(ctx.info.workflowExecution?.workflowId ?? '?');
          throw new Error('the worker died after the commit, before the reply');
        }
        return result;
      },
    },
  });
  return { lost, factory };
}
