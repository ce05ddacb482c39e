// `ops approvals ...`: maker-checker from the command line. A money decision made by hand (a paid
// above the threshold, a write-off, a manual recovery, an adjustment, a manual payout run) is held
// for a second operator; another key lists, approves or rejects it. Through the API, like every
// operator action: the requester's own key is refused there.
import type { Command } from 'commander';
import type { OpsContext } from './recon-commands';

interface Approval {
  id: string;
  workflowId: string;
  action: string;
  amount: string | null;
  requestedBy: string;
  since: string;
  reason: string;
  status: string;
}

interface Held {
  status?: string;
  approval?: Approval;
}

/**
 * What a held decision prints (the answer was 202 PENDING_APPROVAL), or undefined for one carried
 * out at once.
 */
export function heldLines(answer: unknown): string[] | undefined {
  const held = answer as Held;
  if (held?.status !== 'PENDING_APPROVAL' || !held.approval) return undefined;
  const a = held.approval;
  return [
    `${a.workflowId}: ${a.action}${a.amount ? ` of ${a.amount}` : ''} waits for a second operator (${a.id})`,
    `  another operator decides it: npm run ops -- approvals approve ${a.id}   (or reject)`,
  ];
}

export function addApprovalCommands(program: Command, ctx: OpsContext): void {
  const approvals = program
    .command('approvals')
    .description('money decisions waiting for a second operator (maker-checker)');
  approvals
    .command('list')
    .description('pending approvals, oldest first')
    .action(async () => {
      const list = (await ctx.call('GET', '/v1/approvals')) as Approval[];
      ctx.print(list, () =>
        list.length === 0
          ? ['no pending approvals']
          : list.map(
              (a) =>
                `${a.id}  ${a.action}${a.amount ? ` ${a.amount}` : ''}  ${a.workflowId}  by ${a.requestedBy}  since ${a.since}  "${a.reason}"`,
            ),
      );
    });
  for (const verdict of ['approve', 'reject'] as const)
    approvals
      .command(`${verdict} <approvalId>`)
      .description(
        verdict === 'approve'
          ? "approve another key's decision: it is carried out now, as theirs"
          : "reject another key's decision: nothing is done",
      )
      .option('--reason <text>', 'why (recorded in the audit log)')
      .action(async (approvalId: string, opts: { reason?: string }) => {
        const r = (await ctx.call(
          'POST',
          `/v1/approvals/${encodeURIComponent(approvalId)}/${verdict}`,
          opts.reason ? { reason: opts.reason } : {},
        )) as { approval: Approval; result?: { state?: string; status?: string } };
        const outcome = r.result?.state ?? r.result?.status;
        ctx.print(r, () => [
          `${approvalId}: ${r.approval.status}${outcome ? `; ${r.approval.workflowId} is ${outcome}` : ''}`,
        ]);
      });
}
