// Activities of the Reconciliation workflow. The heavy work (the statement, the matching) happens
// here against Postgres; workflows carry ids and totals only. The Recovery workflow's:
// recoveries.ts.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { GatewayClient } from '../gateway/client';
import type { QueryOutcome, Unknown } from '../gateway/outcomes';
import {
  matchRun,
  recordCandidate,
  settleRun,
  type CandidateAnswer,
} from '../reconciliation/match';
import { ExceptionRefused, resolveException, type AskGateway } from '../reconciliation/resolve';
import { loadStatement, reconRunId, type ReconRunRef } from '../reconciliation/statement';
import type { ReconSummary, ResolveExceptionInput } from '../workflows/contracts/reconciliation';

/**
 * The gateway answered FAILED with a code that is not definitive. Not final for the order's own
 * workflow, but for an order no statement lists it is the gateway's second word that nothing moved.
 */
const reportedFailed = (answer: QueryOutcome): answer is Unknown & { failedCode: string } =>
  answer.kind === 'unknown' && answer.failedCode !== undefined;

const run = (channel: string, date: string): ReconRunRef => ({
  runId: reconRunId(channel, date),
  channel,
  date,
});

/**
 * matchStatement's heartbeat: the last candidate answered, so a retried attempt resumes after it.
 */
export interface MatchProgress {
  after: string;
  done: number;
  of: number;
}

function resumeAfter(details: unknown): string | undefined {
  const after = (details as Partial<MatchProgress> | undefined)?.after;
  return typeof after === 'string' ? after : undefined;
}

/** For a resolution of an order no statement lists: what the gateway says now. */
function askGatewayOf(gateway: GatewayClient): AskGateway {
  return async (order) => {
    const answer = await gateway.query(order);
    if (answer.kind === 'succeeded')
      return {
        executed: true,
        amountMinor: answer.order.amountMinor,
        currency: answer.order.currency,
      };
    if (answer.kind === 'failed' || answer.kind === 'not_found' || reportedFailed(answer))
      return { executed: false };
    return {
      unknown:
        answer.kind === 'unknown' || answer.kind === 'not_sent' ? answer.reason : answer.kind,
    };
  };
}

/** The run's totals and counts, as every activity of the workflow returns them. */
async function summary(pool: Pool, channel: string, date: string): Promise<ReconSummary> {
  const {
    rows: [r],
  } = await pool.query(
    `SELECT state, theirs_count, theirs_minor::text, ours_count, ours_minor::text, matched,
              (SELECT count(*)::int FROM recon_exceptions WHERE run_id = $1 AND status = 'OPEN') AS open,
              (SELECT count(*)::int FROM recon_exceptions WHERE run_id = $1 AND status = 'PENDING') AS pending
       FROM recon_runs WHERE id = $1`,
    [reconRunId(channel, date)],
  );
  return {
    state: r.state,
    statementLines: r.theirs_count,
    theirsMinor: r.theirs_minor,
    oursCount: r.ours_count,
    oursMinor: r.ours_minor,
    matched: r.matched,
    openExceptions: r.open,
    pendingLines: r.pending,
  };
}

/**
 * What the gateway's answer about a candidate means (`said`) and how the exception words it
 * (`says`). A FAILED answer, whatever its code, for an order the statement does not list: nothing
 * moved (docs/reconciliation.md). Anything else not definite (processing, no answer, an answer
 * about another order) is unknown: asked again on the next run, never OURS_ONLY.
 */
function candidateAnswer(answer: QueryOutcome): { said: CandidateAnswer; says: string } {
  const said: CandidateAnswer =
    answer.kind === 'succeeded'
      ? 'executed'
      : answer.kind === 'failed' || answer.kind === 'not_found'
        ? answer.kind
        : reportedFailed(answer)
          ? 'failed'
          : 'unknown';
  const says = reportedFailed(answer)
    ? `failed (${answer.failedCode}, not a definitive code)`
    : answer.kind === 'unknown'
      ? `unknown: ${answer.reason}`
      : answer.kind;
  return { said, says };
}

/** The day's statement: fetched into Postgres, then matched both ways. */
function statementActivities(pool: Pool, gateway: GatewayClient) {
  return {
    /** FETCHED: the gateway's statement of the day streamed into Postgres. */
    async fetchStatement(channel: string, date: string): Promise<ReconSummary> {
      // Alive while the statement streams in (RECON_FETCH_OPTIONS' heartbeat timeout).
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), 5_000);
      try {
        context.heartbeat();
        await loadStatement(pool, run(channel, date), await gateway.statement(date));
        return await summary(pool, channel, date);
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * MATCHED: both ways by order number. An order of ours missing from the statement is asked
     * about at the gateway first: executed (another day's statement), failed (status mismatch),
     * or never seen (ours only).
     */
    async matchStatement(channel: string, date: string): Promise<ReconSummary> {
      const ref = run(channel, date);
      const context = Context.current();
      context.heartbeat(context.info.heartbeatDetails); // alive; the progress so far is kept
      const match = await matchRun(pool, ref);
      // Candidates come in bytewise order: skip those a failed attempt already answered.
      const after = resumeAfter(context.info.heartbeatDetails);
      context.heartbeat({
        after: after ?? '',
        done: 0,
        of: match.candidates.length,
      } satisfies MatchProgress);
      for (const [i, c] of match.candidates.entries()) {
        if (after !== undefined && c.orderNo <= after) continue;
        const answer = await gateway.query({
          orderNo: c.orderNo,
          kind: c.kind,
          amountMinor: BigInt(c.amountMinor),
          currency: c.currency,
        });
        if (answer.kind === 'not_sent')
          throw new Error(`the gateway is unreachable: ${answer.reason}`); // retried, from here
        const { said, says } = candidateAnswer(answer);
        await recordCandidate(pool, ref, c, said, says);
        context.heartbeat({
          after: c.orderNo,
          done: i + 1,
          of: match.candidates.length,
        } satisfies MatchProgress);
      }
      await settleRun(pool, ref, match);
      return summary(pool, channel, date);
    },
  };
}

/** The operator's decisions on the run's exceptions. */
function exceptionActivities(pool: Pool, gateway: GatewayClient) {
  const askGateway = askGatewayOf(gateway);
  return {
    /** One operator decision; refusals are final (the update fails with the reason). */
    async resolveReconException(
      channel: string,
      date: string,
      decision: ResolveExceptionInput,
    ): Promise<ReconSummary> {
      const ref = run(channel, date);
      try {
        await resolveException(pool, ref.runId, decision, askGateway);
      } catch (err) {
        if (err instanceof ExceptionRefused)
          throw ApplicationFailure.create({
            type: 'ExceptionRefused',
            message: err.message,
            nonRetryable: true,
          });
        throw err;
      }
      const {
        rows: [r],
      } = await pool.query<{ ours_count: number; ours_minor: string; matched: number }>(
        'SELECT ours_count, ours_minor::text, matched FROM recon_runs WHERE id = $1',
        [ref.runId],
      );
      await settleRun(pool, ref, {
        oursCount: r.ours_count,
        oursMinor: r.ours_minor,
        matched: r.matched,
      });
      return summary(pool, channel, date);
    },
  };
}

/** Every activity of the Reconciliation workflow; the keys are the activity types. */
export function createReconciliationActivities(deps: { pool: Pool; gateway: GatewayClient }) {
  const { pool, gateway } = deps;
  return {
    ...statementActivities(pool, gateway),
    ...exceptionActivities(pool, gateway),
  };
}

export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;
