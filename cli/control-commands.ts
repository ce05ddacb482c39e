// `ops controls ...`: the emergency stop from the command line, through the API (audited there
// with the operator's key): what is paused, pause, resume.
import type { Command } from 'commander';
import type { OpsContext } from './recon-commands';

interface Pause {
  scope: string;
  channel: string;
  reason: string;
  pausedBy: string;
  since: string;
}

const pauseLines = (paused: Pause[]) =>
  paused.length === 0
    ? ['nothing is paused']
    : paused.map(
        (p) => `${p.scope} on ${p.channel} paused since ${p.since} by ${p.pausedBy}: "${p.reason}"`,
      );

export function addControlCommands(program: Command, ctx: OpsContext): void {
  const controls = program
    .command('controls')
    .description('the emergency stop: pause or resume payouts and collections per channel');
  controls
    .command('list')
    .description('what is paused now')
    .action(async () => {
      const r = (await ctx.call('GET', '/v1/controls')) as { paused: Pause[] };
      ctx.print(r, () => pauseLines(r.paused));
    });
  for (const verb of ['pause', 'resume'] as const)
    controls
      .command(`${verb} <scope>`)
      .description(
        verb === 'pause'
          ? 'payouts, collections or all: no new order of it reaches the gateway until resumed'
          : 'payouts, collections or all: the waiting workflows send their orders',
      )
      .option('--channel <channel>', 'the gateway channel', 'default')
      .requiredOption('--reason <text>', 'why (recorded in the audit log)')
      .action(async (scope: string, opts: { channel: string; reason: string }) => {
        const r = (await ctx.call('POST', `/v1/controls/${verb}`, {
          scope,
          channel: opts.channel,
          reason: opts.reason,
        })) as { paused: Pause[]; changed: string[] };
        ctx.print(r, () => [
          `${verb === 'pause' ? 'paused' : 'resumed'}: ${r.changed.join(', ') || 'nothing new'}`,
          ...pauseLines(r.paused),
        ]);
      });
}
