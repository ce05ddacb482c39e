// Operators, at the moments the schedule picks: they resolve manual reviews through the API
// (GET /v1/reviews, POST /v1/reviews/{id}/resolve) and reconciliation exceptions. A review's
// evidence is ambiguous by definition (every answer was unknown), so an operator may decide it
// against the gateway's record; reconciliation must then catch the difference. Exceptions are
// resolved as the gateway's record says: adjust, or recover money paid out that was not owed.
import { simulatorVerdict } from '../cli/auto-resolve';
import type { ReviewEvidence } from '../workflows/shared';
import { count, until, type RunState } from './world';

interface Review { workflowId: string; evidence: ReviewEvidence }

export async function resolveReviews(state: RunState, wrongRate: number): Promise<string> {
  const { api, simulator } = state.stack;
  const res = await api.call<Review[]>('GET', '/v1/reviews', { key: state.operatorKey });
  if (res.status !== 200) return `reviews: HTTP ${res.status}`;
  const done: string[] = [];
  for (const review of res.body) {
    if (review.evidence.state !== 'MANUAL_REVIEW') continue;
    const verdict = await simulatorVerdict(simulator.url, review.evidence.orderNo);
    if (verdict === 'not_final') continue; // the gateway's own record will say soon; never guess on it
    // Wrong only where the evidence allows reconciliation to catch it: the gateway has an answer for
    // the order (executed, failed or unknown to it). One it still holds PROCESSING for good has no
    // answer anyone could reconcile against.
    const record = simulator.truth().find((o) => o.orderNo === review.evidence.orderNo);
    const wrong = state.operatorRng.chance(wrongRate) && record?.status !== 'PROCESSING';
    const truthful = verdict === 'executed' ? 'paid' : 'not_paid';
    const decision = wrong ? (truthful === 'paid' ? 'not_paid' : 'paid') : truthful;
    const r = await api.call<{ state?: string; error?: { code: string } }>('POST', `/v1/reviews/${review.workflowId}/resolve`, {
      key: state.operatorKey, body: { decision, reason: `chaos operator: the gateway's record says ${verdict}${wrong ? ' (decided against it)' : ''}` },
    });
    if (r.status === 200) {
      state.decisions.push({ kind: 'review', subject: review.workflowId, decision, wrong });
      if (wrong) count(state, 'operator:wrong-review');
      count(state, 'operator:review');
    }
    done.push(`${review.workflowId} ${decision}${wrong ? ' (WRONG)' : ''} → ${r.status}`);
  }
  return done.length ? `reviews: ${done.join(', ')}` : 'reviews: none pending';
}

export interface DayView {
  state: string;
  openExceptions: number;
  pendingLines: number;
  exceptions: { id: string; class: string; orderNo: string; kind: string | null; partyId: string | null; status: string }[];
}

export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Starts (or re-runs) a day's reconciliation and waits for its matching to end. */
export async function reconcile(state: RunState, date: string, timeoutMs = 120_000): Promise<DayView> {
  const { api } = state.stack;
  await api.must('POST', '/v1/reconciliations', { key: state.operatorKey, body: { channel: 'default', date, rerun: true } });
  count(state, 'workload:reconciliation');
  await new Promise((r) => setTimeout(r, 1_000));
  return until(state, `the reconciliation of ${date}`, async () => {
    const r = await api.call<DayView>('GET', `/v1/reconciliations/default/${date}`, { key: state.operatorKey });
    return r.status === 200 && ['CLEAN', 'EXCEPTIONS', 'PENDING'].includes(r.body.state) ? r.body : undefined;
  }, timeoutMs, 1_000);
}

/** Each open exception resolved from the gateway's record: money paid to an investor not owed is recovered, the rest adjusted. */
export async function resolveExceptions(state: RunState, date: string, day: DayView): Promise<string> {
  const { api, db } = state.stack;
  const lines: string[] = [];
  for (const e of day.exceptions.filter((x) => x.status === 'OPEN')) {
    let action: 'adjust' | 'recover' | 'accept' = 'adjust';
    let investorId: string | undefined;
    if (e.class === 'FEE_MISMATCH') action = 'accept';
    else if (e.kind === 'PAYOUT' && ['THEIRS_ONLY', 'STATUS_MISMATCH'].includes(e.class)) {
      // Money out that the platform did not book: recover it from the investor it reached.
      const { rows } = await db.query<{ party_id: string }>(`SELECT party_id FROM payouts WHERE order_no = $1 AND purpose <> 'disbursement'`, [e.orderNo]);
      investorId = rows[0]?.party_id ?? secondChannelVictim(state, e.orderNo);
      if (investorId) action = 'recover';
    }
    const r = await api.call<{ error?: { code: string; message: string } }>('POST', `/v1/reconciliations/default/${date}/exceptions/${e.id}/resolve`, {
      key: state.operatorKey, body: { action, reason: `chaos operator: ${e.class} of ${e.orderNo}`, ...(investorId ? { investorId } : {}) },
    });
    if (r.status === 200) {
      const { rows: [run] } = await db.query<{ run_id: string }>('SELECT run_id FROM recon_exceptions WHERE id = $1', [e.id]);
      state.decisions.push({ kind: 'exception', subject: `${run.run_id}#${e.id}`, decision: action, wrong: false });
      count(state, 'operator:exception');
    }
    lines.push(`${e.class} ${e.orderNo} ${action} → ${r.status}${r.status === 200 ? '' : ` ${r.body.error?.message ?? ''}`}`);
  }
  return lines.length ? `exceptions of ${date}: ${lines.join(', ')}` : `exceptions of ${date}: none open (${day.state}, ${day.pendingLines} pending)`;
}

/** The investor a second-channel payment (chaos's own injection, `{orderNo}-ch2`) reached. */
function secondChannelVictim(state: RunState, orderNo: string): string | undefined {
  return state.secondChannel.get(orderNo);
}

/**
 * An operator acts on an open recovery: asks the investor's bank for the money (a collection by
 * the gateway outcome table) or writes the rest off. Either is audited; the invariants check the
 * recovery ends RECOVERED, WRITTEN_OFF or open with what is still owed.
 */
export async function actOnRecovery(state: RunState, writeOff: boolean): Promise<string> {
  const { rows } = await state.stack.db.query<{ id: string }>(`SELECT id FROM recoveries WHERE state IN ('OPEN', 'OFFSETTING') ORDER BY id`);
  if (rows.length === 0) return 'no open recovery';
  const { id } = rows[state.operatorRng.int(0, rows.length - 1)];
  const action = writeOff ? 'write-off' : 'request-collection';
  const r = await state.stack.api.call<{ error?: { message: string } }>('POST', `/v1/recoveries/${id}/${action}`, {
    key: state.operatorKey, body: { reason: `chaos operator: ${action}` },
  });
  if (r.status < 300) {
    state.decisions.push({ kind: writeOff ? 'write-off' : 'collection-request', subject: id, decision: action, wrong: false });
    count(state, `operator:recovery-${action}`);
  }
  return `${action} ${id} → ${r.status}${r.status < 300 ? '' : ` ${r.body.error?.message ?? ''}`}`;
}
