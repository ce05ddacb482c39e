// Operators, at the moments the schedule picks: they resolve manual reviews through the API
// (GET /v1/reviews, POST /v1/reviews/{id}/resolve) and reconciliation exceptions. A review's
// evidence is ambiguous by definition (every answer was unknown), so an operator may decide it
// against the gateway's record; reconciliation must then catch the difference. Exceptions are
// resolved from the gateway's record (adjust, recover money paid out that was not owed, accept
// what the ledger already agrees with), and sometimes wrongly where the evidence allowed it
// (judgeException). On purpose, some decisions race a re-match of the day or the gateway's notice.
import type { ReviewEvidence } from '../workflows/contracts/gateway-order';
import type { ExceptionAction } from '../workflows/contracts/reconciliation';
import { sendGatewayNotice } from './gateway-faults';
import { clearingNets, count, gatewayNet, sleep, until, type RunState } from './world';

interface Review {
  workflowId: string;
  evidence: ReviewEvidence;
}

/**
 * Every pending review decided from the gateway's record (wrongly with probability `wrongRate`,
 * where allowed); with probability `raceRate` the gateway's own final notice for the order is
 * POSTed at the same moment as the decision (a decision racing a notice).
 */
export async function resolveReviews(
  state: RunState,
  wrongRate: number,
  raceRate = 0,
): Promise<string> {
  const { api, simulator } = state.stack;
  const res = await api.call<Review[]>('GET', '/v1/reviews', { key: state.operatorKey });
  if (res.status !== 200) return `reviews: HTTP ${res.status}`;
  const done: string[] = [];
  for (const review of res.body) {
    if (review.evidence.state !== 'MANUAL_REVIEW') continue;
    // The gateway's record, read in-process (its HTTP control routes close with a refuse outage),
    // as cli/auto-resolve.ts reads it.
    const record = simulator.truth().find((o) => o.orderNo === review.evidence.orderNo);
    const verdict =
      record?.status === 'SUCCESS'
        ? 'executed'
        : record?.status === 'PROCESSING' && record.pending !== undefined
          ? 'not_final'
          : 'not_executed';
    // the gateway's own record will say soon; never guess on it
    if (verdict === 'not_final') continue;
    // Wrong only where the evidence allows reconciliation to catch it: the gateway has an answer
    // for the order (executed, failed or unknown to it). One it still holds PROCESSING for good has
    // no answer anyone could reconcile against.
    const wrong = state.operatorRng.chance(wrongRate) && record?.status !== 'PROCESSING';
    const truthful = verdict === 'executed' ? 'paid' : 'not_paid';
    const decision = wrong ? (truthful === 'paid' ? 'not_paid' : 'paid') : truthful;
    const race = raceRate > 0 && state.operatorRng.chance(raceRate);
    const decided = api
      .call('POST', `/v1/reviews/${review.workflowId}/resolve`, {
        key: state.operatorKey,
        body: {
          decision,
          reason: `chaos operator: the gateway's record says ${verdict}${wrong ? ' (decided against it)' : ''}`,
        },
      })
      .then((held) => api.approvedBy<{ state?: string }>(state.checkerKey, held));
    const [r, notice] = await Promise.all([
      decided,
      race ? sendGatewayNotice(state, review.evidence.orderNo) : undefined,
    ]);
    if (race) count(state, 'operator:race-notice');
    if (r.status === 200) {
      state.decisions.push({ kind: 'review', subject: review.workflowId, decision, wrong });
      if (wrong) count(state, 'operator:wrong-review');
      count(state, 'operator:review');
    }
    done.push(
      `${review.workflowId} ${decision}${wrong ? ' (WRONG)' : ''} → ${r.status}${notice ? ` racing ${notice}` : ''}`,
    );
  }
  return done.length ? `reviews: ${done.join(', ')}` : 'reviews: none pending';
}

export interface DayView {
  state: string;
  openExceptions: number;
  pendingLines: number;
  exceptions: {
    id: string;
    class: string;
    orderNo: string;
    kind: string | null;
    partyId: string | null;
    status: string;
  }[];
}

export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Starts (or re-runs) a day's reconciliation and waits for its matching to end. */
export async function reconcile(
  state: RunState,
  date: string,
  timeoutMs = 120_000,
): Promise<DayView> {
  const { api } = state.stack;
  await api.must('POST', '/v1/reconciliations', {
    key: state.operatorKey,
    body: { channel: 'default', date, rerun: true },
  });
  count(state, 'workload:reconciliation');
  await new Promise((r) => setTimeout(r, 1_000));
  return until(
    state,
    `the reconciliation of ${date}`,
    async () => {
      const r = await api.call<DayView>('GET', `/v1/reconciliations/default/${date}`, {
        key: state.operatorKey,
      });
      return r.status === 200 && ['CLEAN', 'EXCEPTIONS', 'PENDING'].includes(r.body.state)
        ? r.body
        : undefined;
    },
    timeoutMs,
    1_000,
  );
}

type DayException = DayView['exceptions'][number];

/**
 * The right decision by the gateway's record, and the wrong ones an operator could take on the same
 * evidence.
 */
interface Judgement {
  right: ExceptionAction;
  investorId?: string;
  wrong: ExceptionAction[];
  why: string;
}

/**
 * Judged from the gateway's record (its truth) against what the ledger posted for the order on
 * the clearing account, as an operator who queries the gateway would:
 * - a fee mismatch: accept (fees are not booked per order); the wrong `adjust` is refused (409);
 * - the ledger already equals what the gateway moved (a statement error, a notice contradicting
 *   what the gateway did, an order accounted for since): accept, nothing to post. The wrong
 *   `adjust`/`recover` is re-derived when it commits and ends CLEARED, a no-op — except on a line
 *   chaos falsified in the statement: there the re-derivation reads the statement, so adjusting
 *   would book its error, and nothing could catch that (no re-run re-opens a resolved exception).
 *   That choice is not made;
 * - money paid out that the ledger did not book, to a known investor: recover. No wrong choice is
 *   taken: an `adjust` would book it to platform:suspense, which no reconciliation can tell from
 *   right;
 * - anything else: adjust. The wrong `recover` is refused (money that came in, or was never paid
 *   out).
 * `accept` of a real money difference is never chosen: it is the operator declaring the gateway's
 * figure wrong, which would leave ledger ≠ gateway by decision, and nothing re-opens it.
 */
async function judgeException(state: RunState, e: DayException): Promise<Judgement | string> {
  if (e.class === 'FEE_MISMATCH') return { right: 'accept', wrong: ['adjust'], why: 'fee' };
  const record = state.stack.simulator.truth().find((o) => o.orderNo === e.orderNo);
  if (record?.status === 'PROCESSING') return 'the gateway has not finished the order';
  const gateway = gatewayNet(state, e.orderNo);
  const ledger = (await clearingNets(state, [e.orderNo])).get(e.orderNo) ?? 0n;
  if (gateway === ledger) {
    const falsified = state.tampered.get(e.orderNo)?.startsWith('statement-') ?? false;
    return {
      right: 'accept',
      wrong: falsified ? [] : ['adjust', 'recover'],
      why: `ledger = gateway = ${ledger}`,
    };
  }
  const why = `ledger ${ledger}, gateway ${gateway}`;
  if (e.kind === 'PAYOUT' && gateway > ledger) {
    // Money out that the platform did not book: recover it from the investor it reached.
    // (an investor's: a borrower's penny test paid twice is the platform's loss, adjusted)
    const { rows } = await state.stack.db.query<{ party_id: string }>(
      `SELECT p.party_id FROM payouts p JOIN parties a ON a.id = p.party_id AND a.kind = 'investor'
        WHERE p.order_no = $1 AND p.purpose <> 'disbursement'`,
      [e.orderNo],
    );
    const investorId = rows[0]?.party_id ?? secondChannelVictim(state, e.orderNo);
    // (a second-channel copy of a borrower's penny test reached a borrower: adjusted, as above)
    // No wrong choice here: `adjust` would book the money to platform:suspense instead of asking
    // the investor for it. The ledger then equals the gateway, so no reconciliation can catch it
    // (the loss is the platform's, by decision), and the suite only injects mistakes something must
    // catch.
    if (investorId) return { right: 'recover', investorId, wrong: [], why };
  }
  return { right: 'adjust', wrong: ['recover'], why };
}

/**
 * How often a recovery just opened by an exception's `recover` is acted on at once (collection or
 * write-off, half each).
 */
const RECOVERY_FOLLOW_UP_RATE = 0.5;

export interface ResolveOptions {
  /** How often a decision is one of the wrong ones the evidence allowed. */
  wrongRate?: number;
  /** Counted as decided while a re-match of the day runs (started by the caller). */
  racing?: boolean;
}

/**
 * One exception's resolution through the API, an adjustment or a recovery approved by the second
 * operator.
 */
async function resolveException(state: RunState, date: string, id: string, body: object) {
  const { api } = state.stack;
  return api.approvedBy<{ status?: string; error?: { code: string; message: string } }>(
    state.checkerKey,
    await api.call('POST', `/v1/reconciliations/default/${date}/exceptions/${id}/resolve`, {
      key: state.operatorKey,
      body,
    }),
  );
}

/**
 * Each open exception decided from the gateway's record (or wrongly, where allowed), through the
 * API.
 */
export async function resolveExceptions(
  state: RunState,
  date: string,
  day: DayView,
  options: ResolveOptions = {},
): Promise<string> {
  const { db } = state.stack;
  const lines: string[] = [];
  for (const e of day.exceptions.filter((x) => x.status === 'OPEN')) {
    const judged = await judgeException(state, e);
    if (typeof judged === 'string') {
      lines.push(`${e.class} ${e.orderNo}: left open (${judged})`);
      continue;
    }
    const wrong = judged.wrong.length > 0 && state.operatorRng.chance(options.wrongRate ?? 0);
    const action = wrong ? state.operatorRng.pick(judged.wrong) : judged.right;
    const investorId = action === 'recover' ? judged.investorId : undefined;
    const body = {
      action,
      reason: `chaos operator: ${e.class} of ${e.orderNo} (${judged.why})${wrong ? `, against the record (${judged.right} was right)` : ''}`,
      ...(investorId ? { investorId } : {}),
    };
    const resolve = () => resolveException(state, date, e.id, body);
    let r = await resolve();
    // The day's state is read from Postgres, the workflow learns it a moment later: not racing, the
    // operator tries again.
    for (
      let retry = 0;
      !options.racing &&
      r.status === 409 &&
      /nothing to resolve: the day is (FETCHED|MATCHED|not matched)/.test(
        r.body.error?.message ?? '',
      ) &&
      retry < 3;
      retry++
    ) {
      await sleep(1_000);
      r = await resolve();
    }
    if (options.racing) count(state, 'operator:race-rematch');
    if (wrong && (r.status === 200 || r.status === 409)) count(state, 'operator:wrong-exception');
    let followUp = '';
    if (r.status === 200) {
      const {
        rows: [run],
      } = await db.query<{ run_id: string; recovery_id: string | null }>(
        'SELECT run_id, recovery_id FROM recon_exceptions WHERE id = $1',
        [e.id],
      );
      state.decisions.push({
        kind: 'exception',
        subject: `${run.run_id}#${e.id}`,
        decision: action,
        wrong,
      });
      count(state, 'operator:exception');
      // Half the time the operator who opened a recovery acts on it at once, before its workflow
      // may have started.
      if (run.recovery_id && state.recoveryRng.chance(RECOVERY_FOLLOW_UP_RATE))
        followUp = `, then ${await actOn(state, run.recovery_id, state.recoveryRng.chance(0.5))}`;
    }
    lines.push(
      `${e.class} ${e.orderNo} ${action}${wrong ? ' (WRONG)' : ''} → ${r.status}${r.status === 200 ? ` ${r.body.status ?? ''}` : ` ${r.body.error?.message ?? ''}`}${followUp}`,
    );
  }
  return lines.length
    ? `exceptions of ${date}${options.racing ? ' (racing a re-match)' : ''}: ${lines.join(', ')}`
    : `exceptions of ${date}: none open (${day.state}, ${day.pendingLines} pending)`;
}

/**
 * The day's open exceptions decided while a re-match of the day runs, on purpose: the re-run is
 * asked for and the decisions sent without waiting for it. A decision the re-match got to first
 * is refused (409: cleared, or the day not matched yet); one that committed first is matched.
 */
export async function resolveRacingRematch(
  state: RunState,
  date: string,
  day: DayView,
  wrongRate: number,
): Promise<string> {
  if (!day.exceptions.some((x) => x.status === 'OPEN'))
    return resolveExceptions(state, date, day, { wrongRate });
  const rerun = state.stack.api.must('POST', '/v1/reconciliations', {
    key: state.operatorKey,
    body: { channel: 'default', date, rerun: true },
  });
  const [, decided] = await Promise.all([
    rerun,
    resolveExceptions(state, date, day, { wrongRate, racing: true }),
  ]);
  count(state, 'workload:reconciliation');
  return decided;
}

/** The investor a second-channel payment (chaos's own injection, `{orderNo}-ch2`) reached. */
function secondChannelVictim(state: RunState, orderNo: string): string | undefined {
  const paid = state.secondChannel.get(orderNo);
  return state.investors.some((i) => i.id === paid) ? paid : undefined;
}

/**
 * An operator acts on an open recovery: asks the investor's bank for the money (a collection by
 * the gateway outcome table) or writes the rest off. Either is audited; the invariants check the
 * recovery ends RECOVERED, WRITTEN_OFF or open with what is still owed.
 */
export async function actOnRecovery(state: RunState, writeOff: boolean): Promise<string> {
  const { rows } = await state.stack.db.query<{ id: string }>(
    `SELECT id FROM recoveries WHERE state IN ('OPEN', 'OFFSETTING') ORDER BY id`,
  );
  if (rows.length === 0) return 'no open recovery';
  return actOn(state, rows[state.operatorRng.int(0, rows.length - 1)].id, writeOff);
}

async function actOn(state: RunState, id: string, writeOff: boolean): Promise<string> {
  const action = writeOff ? 'write-off' : 'request-collection';
  const { api } = state.stack;
  const r = await api.approvedBy<{ error?: { message: string } }>(
    state.checkerKey,
    await api.call('POST', `/v1/recoveries/${id}/${action}`, {
      key: state.operatorKey,
      body: { reason: `chaos operator: ${action}` },
    }),
  );
  if (r.status < 300) {
    state.decisions.push({
      kind: writeOff ? 'write-off' : 'collection-request',
      subject: id,
      decision: action,
      wrong: false,
    });
    count(state, `operator:recovery-${action}`);
  }
  return `${action} ${id} → ${r.status}${r.status < 300 ? '' : ` ${r.body.error?.message ?? ''}`}`;
}

/**
 * When the run settles: each open recovery has its collection requested (50 %: the faults are
 * over, so it is collected), or is written off (35 %; the schedule's own recovery steps write
 * off too), or is left offsetting (15 %), as the operators' stream draws.
 */
export async function actOnRecoveries(state: RunState): Promise<string> {
  const { rows } = await state.stack.db.query<{ id: string }>(
    `SELECT id FROM recoveries WHERE state IN ('OPEN', 'OFFSETTING') ORDER BY id`,
  );
  const out: string[] = [];
  for (const { id } of rows) {
    const choice = state.operatorRng.weighted({
      'request-collection': 5,
      'write-off': 3.5,
      leave: 1.5,
    } as const);
    if (choice === 'leave') {
      out.push(`${id} left`);
      continue;
    }
    out.push(await actOn(state, id, choice === 'write-off'));
  }
  return out.length ? `recoveries: ${out.join(', ')}` : 'recoveries: none open';
}
