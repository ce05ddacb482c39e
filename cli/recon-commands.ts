// `ops recon ...` and `ops recoveries ...`: reconcile a day, read it, resolve its exceptions;
// list, show and write off recoveries. Through the API, like every operator action.
import { CommanderError, type Command } from 'commander';
import { heldLines } from './approval-commands';

export interface OpsContext {
  /** An authenticated API call; a refusal becomes the command's error. */
  call: (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<unknown>;
  print: (value: unknown, text: () => string[]) => void;
}

interface DayView {
  workflowId: string;
  state: string;
  matched: number;
  ours: { count: number; amount: string };
  theirs: { count: number; amount: string };
  openExceptions?: number;
  pendingLines?: number;
  /**
   * status: OPEN, PENDING (IN_FLIGHT / UNKNOWN: looked at again on the next run, not resolvable),
   * RESOLVED, CLEARED (no longer applies).
   */
  exceptions: {
    id: string;
    class: string;
    orderNo: string;
    ours: string | null;
    theirs: string | null;
    partyId: string | null;
    status: string;
    resolution: string | null;
  }[];
}

interface RecoveryView {
  id: string;
  investorId: string;
  state: string;
  owed: string;
  recovered: string;
  outstanding: string;
  reason: string;
}

const dayPath = (channel: string, date: string) =>
  `/v1/reconciliations/${encodeURIComponent(channel)}/${encodeURIComponent(date)}`;

/** `ops recon run` and `show`; the exceptions' resolution and `ops recoveries` below. */
export function addReconCommands(program: Command, ctx: OpsContext): void {
  const recon = program
    .command('recon')
    .description("reconciliation of the gateway's daily statement against the ledger");
  recon
    .command('run <date>')
    .description('reconcile a day (YYYY-MM-DD); a repeat returns the same run')
    .option('--channel <channel>', 'gateway channel', 'default')
    .option('--rerun', 'run a closed day again (same exceptions, no copies)')
    .action(async (date: string, opts: { channel: string; rerun?: boolean }) => {
      const r = (await ctx.call('POST', '/v1/reconciliations', {
        channel: opts.channel,
        date,
        ...(opts.rerun ? { rerun: true } : {}),
      })) as { workflowId: string; started: boolean };
      ctx.print(r, () => [
        `${r.workflowId}: ${r.started ? 'started' : 'already running or done (use --rerun to run it again)'}`,
      ]);
    });
  recon
    .command('show <date>')
    .description('state, both sides, and every exception')
    .option('--channel <channel>', 'gateway channel', 'default')
    .action(async (date: string, opts: { channel: string }) => {
      const d = (await ctx.call('GET', dayPath(opts.channel, date))) as DayView;
      ctx.print(d, () => [
        `${d.workflowId}: ${d.state}; ours ${d.ours.count} orders ${d.ours.amount}, theirs ${d.theirs.count} lines ${d.theirs.amount}, matched ${d.matched}` +
          `; ${d.openExceptions ?? 0} open, ${d.pendingLines ?? 0} pending (looked at again on the next run)`,
        ...d.exceptions.map(
          (e) =>
            `  #${e.id}  ${e.class.padEnd(20)}  ${e.orderNo}  ours ${e.ours ?? '-'}  theirs ${e.theirs ?? '-'}  ${e.partyId ?? ''}  ${e.status}${e.resolution ? ` (${e.resolution})` : ''}`,
        ),
      ]);
    });
  addResolveException(recon, ctx);
  addRecoveryCommands(program, ctx);
}

/** `ops recon resolve`: an exception's resolution, checked here before the API records it. */
function addResolveException(recon: Command, ctx: OpsContext): void {
  recon
    .command('resolve <date> <exceptionId>')
    .description(
      "adjust the clearing account, recover from the investor, or accept as the gateway's error",
    )
    .requiredOption('--action <action>', 'adjust | recover | accept')
    .requiredOption('--reason <text>', 'why (recorded in the ledger)')
    .option('--investor <id>', 'who was paid, to recover an order the platform never made')
    .option('--channel <channel>', 'gateway channel', 'default')
    .action(
      async (
        date: string,
        exceptionId: string,
        opts: { action: string; reason: string; investor?: string; channel: string },
      ) => {
        if (!['adjust', 'recover', 'accept'].includes(opts.action))
          throw new CommanderError(2, 'ops.action', '--action must be adjust, recover or accept');
        const body = {
          action: opts.action,
          reason: opts.reason,
          ...(opts.investor ? { investorId: opts.investor } : {}),
        };
        const r = (await ctx.call(
          'POST',
          `${dayPath(opts.channel, date)}/exceptions/${encodeURIComponent(exceptionId)}/resolve`,
          body,
        )) as { status?: string; day: { state: string; openExceptions: number } };
        const what =
          r.status === 'CLEARED' ? 'already accounted for, nothing posted (CLEARED)' : opts.action;
        ctx.print(
          r,
          () =>
            heldLines(r) ?? [
              `#${exceptionId}: ${what}; the day is ${r.day.state} (${r.day.openExceptions} open)`,
            ],
        );
      },
    );
}

/** `ops recoveries ...`: money owed back, read, asked for, or written off. */
function addRecoveryCommands(program: Command, ctx: OpsContext): void {
  const recoveries = program
    .command('recoveries')
    .description('money paid in error, owed back by investors');
  recoveries
    .command('list')
    .description('newest first')
    .option('--open', 'only those still owed')
    .action(async (opts: { open?: boolean }) => {
      const list = (await ctx.call(
        'GET',
        `/v1/recoveries${opts.open ? '?open=true' : ''}`,
      )) as RecoveryView[];
      ctx.print(list, () =>
        list.length === 0
          ? ['no recoveries']
          : list.map(
              (r) =>
                `${r.id}  ${r.investorId}  ${r.state.padEnd(11)}  owed ${r.owed}  recovered ${r.recovered}  outstanding ${r.outstanding}`,
            ),
      );
    });
  recoveries.command('show <id>').action(async (id: string) => {
    const r = (await ctx.call('GET', `/v1/recoveries/${encodeURIComponent(id)}`)) as RecoveryView;
    ctx.print(r, () => [
      `${r.id}: ${r.state}; ${r.investorId} owed ${r.owed}, recovered ${r.recovered}, outstanding ${r.outstanding}; ${r.reason}`,
    ]);
  });
  recoveries
    .command('request <id>')
    .description(
      'ask the investor to pay it back: a collection from their bank account through the gateway',
    )
    .requiredOption('--reason <text>', 'why (recorded)')
    .action(async (id: string, opts: { reason: string }) => {
      const r = (await ctx.call(
        'POST',
        `/v1/recoveries/${encodeURIComponent(id)}/request-collection`,
        { reason: opts.reason },
      )) as RecoveryView;
      ctx.print(r, () => [
        `${r.id}: ${r.state}; recovered ${r.recovered}, outstanding ${r.outstanding}`,
      ]);
    });
  recoveries
    .command('write-off <id>')
    .description('give up what is still owed')
    .requiredOption('--reason <text>', 'why (recorded in the ledger)')
    .action(async (id: string, opts: { reason: string }) => {
      const r = (await ctx.call('POST', `/v1/recoveries/${encodeURIComponent(id)}/write-off`, {
        reason: opts.reason,
      })) as RecoveryView;
      ctx.print(r, () => heldLines(r) ?? [`${r.id}: ${r.state}`]);
    });
}
