// The operator's command line: reviews, reconciliation, recoveries, approvals, balances,
// statements and the trial balance, through the HTTP API (so every action is authenticated and
// authorised like any other client).
//   npm run ops -- --help
import { localApiUrl } from '../config/local';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { addApprovalCommands, heldLines } from './approval-commands';
import { addControlCommands } from './control-commands';
import { addBankAccountCommands } from './bank-account-commands';
import { addReconCommands, type OpsContext } from './recon-commands';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

interface Connection {
  apiUrl: string;
  key: string;
}

const DEFAULT_KEY_FILE = join(__dirname, '..', '.data', 'admin-api-key');

function connection(opts: { apiUrl: string; keyFile?: string }): Connection {
  const fromEnv = process.env.OPS_API_KEY;
  const file = opts.keyFile ?? DEFAULT_KEY_FILE;
  if (fromEnv) return { apiUrl: opts.apiUrl, key: fromEnv };
  if (!existsSync(file))
    throw new CommanderError(
      2,
      'ops.nokey',
      `no API key: set OPS_API_KEY or pass --key-file (looked in ${file})`,
    );
  return { apiUrl: opts.apiUrl, key: readFileSync(file, 'utf8').trim() };
}

async function call(
  c: Connection,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(c.apiUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${c.key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await res.json().catch(() => ({}))) as {
    error?: { code: string; message: string };
  };
  if (!res.ok)
    throw new CommanderError(
      1,
      'ops.api',
      `${res.status} ${json.error?.code ?? ''}: ${json.error?.message ?? 'request failed'}`,
    );
  return json;
}

interface Review {
  workflowId: string;
  kind: string;
  since: string;
  evidence: {
    state: string;
    orderNo: string;
    attempts: {
      at: string;
      action: string;
      outcome: { kind: string; code?: string; reason?: string };
    }[];
    /**
     * The gateway's verified notices: evidence that settles the review, and refuses a decision
     * against it.
     */
    notices?: { notifyId: string; outcome: string; code?: string }[];
    /** How to decide it: this CLI's command and the API route. */
    decide?: { cli: string; api: string };
  };
}

export function buildProgram(io: Io): Command {
  const program = new Command('ops')
    .description('Operate the lending money core through its API')
    .option('--api-url <url>', 'the API', localApiUrl())
    .option(
      '--key-file <path>',
      'file holding an operator or admin API key (default .data/admin-api-key; or set OPS_API_KEY)',
    )
    .option('--json', 'print JSON instead of text')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
    });
  // The connection is read when a command runs, so --help needs no key.
  const conn = () => connection(program.opts());
  const json = () => Boolean(program.opts().json);
  const ctx: OpsContext = {
    call: (method, path, body) => call(conn(), method, path, body),
    print: (value, text) => {
      if (json()) io.out(JSON.stringify(value, null, 2));
      else text().forEach((line) => io.out(line));
    },
  };
  addReviewCommands(program, ctx);
  addLedgerCommands(program, ctx);
  addReconCommands(program, ctx);
  addApprovalCommands(program, ctx);
  addControlCommands(program, ctx);
  addBankAccountCommands(program, ctx);
  return program;
}

/** `ops reviews list` and `show`: what waits for an operator, and its evidence. */
function addReviewCommands(program: Command, ctx: OpsContext): void {
  const reviews = program.command('reviews').description('payments stuck in MANUAL_REVIEW');
  reviews
    .command('list')
    .description('open reviews, oldest first')
    .action(async () => {
      const list = (await ctx.call('GET', '/v1/reviews')) as Review[];
      ctx.print(list, () =>
        list.length === 0
          ? ['no open reviews']
          : list.map(
              (r) =>
                `${r.workflowId}  ${r.kind}  order ${r.evidence.orderNo}  since ${r.since}  ${r.evidence.attempts.length} attempts${r.evidence.notices?.length ? `  ${r.evidence.notices.length} verified notice(s)` : ''}`,
            ),
      );
    });
  reviews
    .command('show <workflowId>')
    .description('the evidence: every attempt and gateway answer')
    .action(async (workflowId: string) => {
      const list = (await ctx.call('GET', '/v1/reviews')) as Review[];
      const review = list.find((r) => r.workflowId === workflowId);
      if (!review)
        throw new CommanderError(1, 'ops.notfound', `${workflowId} is not waiting for review`);
      ctx.print(review, () => [
        `${review.workflowId} (${review.kind}), order ${review.evidence.orderNo}, ${review.evidence.state} since ${review.since}`,
        ...review.evidence.attempts.map(
          (a) =>
            `  ${a.at}  ${a.action.padEnd(6)}  ${a.outcome.kind}${a.outcome.code ? ` ${a.outcome.code}` : ''}${a.outcome.reason ? ` (${a.outcome.reason})` : ''}`,
        ),
        ...(review.evidence.notices ?? []).map(
          (n) => `  verified notice ${n.notifyId}  ${n.outcome}${n.code ? ` ${n.code}` : ''}`,
        ),
        ...(review.evidence.decide
          ? ['decide:', `  ${review.evidence.decide.cli}`, `  ${review.evidence.decide.api}`]
          : []),
      ]);
    });
  addResolveReview(reviews, ctx);
}

/** `ops reviews resolve`: the operator's decision, checked here before the API records it. */
function addResolveReview(reviews: Command, ctx: OpsContext): void {
  reviews
    .command('resolve <workflowId>')
    .description(
      'decide: paid (post) or not_paid (void); your key and the reason are recorded in the ledger',
    )
    .requiredOption('--decision <decision>', 'paid | not_paid')
    .requiredOption('--reason <text>', 'why (at least 3 characters)')
    .option(
      '--resubmit',
      'with not_paid (payouts, deposits): send the same order number again instead of releasing it',
    )
    .action(
      async (
        workflowId: string,
        opts: { decision: string; reason: string; resubmit?: boolean },
      ) => {
        if (opts.decision !== 'paid' && opts.decision !== 'not_paid')
          throw new CommanderError(2, 'ops.decision', '--decision must be paid or not_paid');
        if (opts.resubmit && opts.decision !== 'not_paid')
          throw new CommanderError(2, 'ops.resubmit', '--resubmit goes with --decision not_paid');
        const body = {
          decision: opts.decision,
          reason: opts.reason,
          ...(opts.resubmit ? { resubmit: true } : {}),
        };
        const result = (await ctx.call(
          'POST',
          `/v1/reviews/${encodeURIComponent(workflowId)}/resolve`,
          body,
        )) as { state: string };
        ctx.print(result, () => heldLines(result) ?? [`${workflowId}: ${result.state}`]);
      },
    );
}

/** `ops trial-balance`, `balance` and `statement`: reads of the ledger. */
function addLedgerCommands(program: Command, ctx: OpsContext): void {
  program
    .command('trial-balance')
    .description('per-currency totals; balanced or not')
    .action(async () => {
      const tb = (await ctx.call('GET', '/v1/ledger/trial-balance')) as {
        balanced: boolean;
        currencies: { currency: string; debits: string; credits: string }[];
      };
      ctx.print(tb, () => [
        ...tb.currencies.map((c) => `${c.currency}  debits ${c.debits}  credits ${c.credits}`),
        tb.balanced ? 'balanced' : 'NOT BALANCED',
      ]);
    });
  program
    .command('balance <investorId>')
    .description("an investor's balance")
    .action(async (id: string) => {
      const b = (await ctx.call(
        'GET',
        `/v1/investors/${encodeURIComponent(id)}/balance`,
      )) as Record<string, string>;
      ctx.print(b, () => [`${id}: available ${b.available} ${b.currency}, held ${b.pending}`]);
    });
  program
    .command('statement <investorId>')
    .description("an investor's entries with running balance")
    .option('--after <cursor>', 'next page after this entry id')
    .option('--limit <n>', 'entries per page', '50')
    .action(async (id: string, opts: { after?: string; limit: string }) => {
      const query = new URLSearchParams({
        limit: opts.limit,
        ...(opts.after ? { after: opts.after } : {}),
      });
      const page = (await ctx.call(
        'GET',
        `/v1/investors/${encodeURIComponent(id)}/statement?${query}`,
      )) as {
        entries: {
          id: string;
          createdAt: string;
          direction: string;
          amount: string;
          balanceAfter: string;
        }[];
        nextCursor: string | null;
      };
      ctx.print(page, () => [
        ...page.entries.map(
          (e) =>
            `${e.id}  ${e.createdAt}  ${e.direction.padEnd(6)}  ${e.amount.padStart(14)}  ${e.balanceAfter.padStart(14)}`,
        ),
        page.nextCursor ? `more: --after ${page.nextCursor}` : 'end',
      ]);
    });
}

/** Runs the CLI; returns the exit code (0 ok, 1 refused or failed, 2 bad usage). */
export async function runOps(argv: string[], io: Io): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (!err.code.startsWith('commander.')) io.err(`ops: ${err.message}`);
      return err.exitCode === 0 ? 0 : err.exitCode;
    }
    io.err(`ops: ${(err as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  void runOps(process.argv.slice(2), {
    out: (l) => console.log(l),
    err: (l) => console.error(l),
  }).then((code) => process.exit(code));
}
