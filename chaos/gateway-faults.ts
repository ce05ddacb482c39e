// Gateway faults chaos injects by hand, beside the simulator's own (issue 18 item 3):
// - notices signed with the gateway's OWN key that mismatch the order (amount, currency, kind):
//   each must be refused (422) and move nothing, whatever status they claim;
// - notices signed with its own key that contradict what the gateway really did (SUCCESS for an
//   order it failed or never got, a definitive FAILED for one it executed): verified, so they are
//   evidence; an order in flight may settle on one, a finished one opens a reconciliation
//   exception at once (reconciliation/notice-exception.ts). Reconciliation must then bring the
//   ledger back to what the gateway really moved;
// - notices the gateway delivered before, re-sent after a process restart: duplicates (200, no
//   effect);
// - errors in the day's statement file (another amount or fee, a line listed twice) before a
//   reconciliation run: the ledger is right, the statement is not.
import { isDefinitiveFailureCode } from '../gateway/definitive-codes';
import { signNotification, unixSeconds } from '../gateway/signing';
import type { NotificationBody } from '../gateway/protocol';
import type { OrderRecord } from '../gateway/simulator/truth-store';
import { formatAmount } from '../ledger/money';
import { clearingNets, count, gatewayNet, type RunState } from './world';

export type ContradictionVariant = 'says-success' | 'says-failed';
export type StatementErrorVariant = 'amount' | 'fee' | 'duplicate';

interface OurOrder {
  order_no: string;
  kind: 'PAYOUT' | 'COLLECTION';
  amount_minor: string;
  currency: string;
  status: string;
}

/** Every order the platform made, newest first. */
const OUR_ORDERS = `SELECT order_no, kind, amount_minor, currency, status FROM (
  SELECT order_no, 'PAYOUT' AS kind, amount_minor::text, currency, status, created_at FROM payouts
  UNION ALL SELECT order_no, 'COLLECTION', amount_minor::text, currency, status, created_at FROM deposits
  UNION ALL SELECT order_no, 'COLLECTION', amount_minor::text, currency, status, created_at FROM repayment_collections
  UNION ALL SELECT order_no, 'COLLECTION', amount_minor::text, currency, status, created_at FROM recovery_collections) o
  ORDER BY created_at DESC, order_no`;

const FINAL = new Set(['SUCCEEDED', 'FAILED']);

/** The platform's latest orders, payouts and collections alike. */
export async function latestOrders(state: RunState, n: number): Promise<OurOrder[]> {
  return (await state.stack.db.query<OurOrder>(`${OUR_ORDERS} LIMIT $1`, [n])).rows;
}

/** A notification as the gateway sends it, of any `kind`: a forged one may name a kind unknown. */
type Notice = Omit<NotificationBody, 'kind'> & { kind: string };

/** POSTs a notice to the API signed with the gateway's own key, as the gateway's notifier does. */
async function postNotice(state: RunState, notice: Notice): Promise<number> {
  const raw = JSON.stringify(notice);
  const timestamp = unixSeconds(Date.now());
  const res = await fetch(`${state.stack.api.baseUrl}/v1/gateway/notifications`, {
    method: 'POST',
    body: raw,
    signal: AbortSignal.timeout(15_000),
    headers: {
      'content-type': 'application/json',
      'x-gateway-timestamp': timestamp,
      'x-gateway-notify-id': notice.notifyId,
      'x-gateway-attempt': '1',
      'x-gateway-signature': signNotification(state.stack.env.GATEWAY_SECRET, timestamp, raw),
    },
  });
  await res.arrayBuffer();
  return res.status;
}

const truthOf = (state: RunState) =>
  new Map(state.stack.simulator.truth().map((o) => [o.orderNo, o]));

/** The notice the gateway itself sends for a finished order (same notice id, so a resend of it). */
export function gatewayNotice(record: OrderRecord, eventSeq = 2): Notice {
  return {
    notifyId: `${record.gatewayTradeNo}-${eventSeq}`,
    orderNo: record.orderNo,
    kind: record.kind,
    status: record.status,
    ...(record.status === 'FAILED' && record.code !== undefined ? { code: record.code } : {}),
    amount: formatAmount(record.amountMinor, record.currency),
    currency: record.currency,
    ...(record.status === 'SUCCESS' && record.feeMinor !== undefined
      ? { fee: formatAmount(record.feeMinor, record.currency) }
      : {}),
    gatewayTradeNo: record.gatewayTradeNo,
    eventSeq,
    eventTime: new Date().toISOString(),
  };
}

/**
 * The gateway's truthful final notice for an order, POSTed now (an operator's decision may be
 * racing it).
 */
export async function sendGatewayNotice(state: RunState, orderNo: string): Promise<string> {
  const record = truthOf(state).get(orderNo);
  if (!record || (record.status !== 'SUCCESS' && record.status !== 'FAILED'))
    return `no final notice for ${orderNo}`;
  return `the gateway's ${record.status} notice → ${await postNotice(state, gatewayNotice(record))}`;
}

/**
 * Three notices for one of our latest orders, each claiming SUCCESS and signed with the gateway's
 * own key, each wrong in one field: the amount (one minor unit more, or less), the currency, the
 * kind. The incident's `&&` would have let them through; each must be answered 422 and move
 * nothing.
 */
export async function mismatchingNotices(state: RunState, pick: number): Promise<string> {
  const rows = await latestOrders(state, 20);
  if (rows.length === 0) return 'no order yet';
  const order = rows[pick % rows.length];
  const amountMinor = BigInt(order.amount_minor);
  const base = {
    orderNo: order.order_no,
    kind: order.kind,
    status: 'SUCCESS',
    amount: formatAmount(amountMinor, order.currency),
    currency: order.currency,
    gatewayTradeNo: `GW-chaos-${pick}`,
    eventSeq: 2,
    eventTime: new Date().toISOString(),
  };
  const variants = {
    'wrong-amount': {
      amount: formatAmount(
        pick % 2 === 0 || amountMinor === 1n ? amountMinor + 1n : amountMinor - 1n,
        order.currency,
      ),
    },
    'wrong-currency': { currency: order.currency === 'USD' ? 'EUR' : 'USD' },
    'wrong-kind': { kind: order.kind === 'PAYOUT' ? 'COLLECTION' : 'PAYOUT' },
  };
  const out: string[] = [];
  for (const [variant, change] of Object.entries(variants)) {
    const status = await postNotice(state, {
      ...base,
      ...change,
      notifyId: `chaos-${variant}-${pick}-${order.order_no}`.slice(0, 120),
    });
    count(state, `gateway:notice-${variant}`);
    if (status !== 422) {
      state.alarms.push({
        invariant: 'notices-verified',
        detail: `a SUCCESS notice for ${order.order_no} signed with the gateway's key but with the ${variant.slice(6)} wrong was answered ${status}, not 422`,
      });
    }
    out.push(`${variant} → ${status}${status === 422 ? '' : ' (NOT REFUSED)'}`);
  }
  return `SUCCESS notices for ${order.order_no} (${order.status}) with the gateway's key: ${out.join(', ')}`;
}

/**
 * A notice signed with the gateway's own key that contradicts what the gateway did:
 * - `says-success`: SUCCESS for an order the gateway failed with a definitive code, or one it never
 *   got that we recorded FAILED. (Not for an order it failed with a code that is not definitive,
 *   or holds PROCESSING for good: reconciliation keeps such an order a PENDING UNKNOWN line, by
 *   rule, so a false SUCCESS on it could never be caught; docs/reliability.md, violation 1.)
 * - `says-failed`: a definitive FAILED (REJECTED) for an order the gateway executed.
 * Verified, so it is acted on: the invariants after reconciliation must still hold.
 */
export async function contradictingNotice(
  state: RunState,
  variant: ContradictionVariant,
  pick: number,
): Promise<string> {
  const { rows } = await state.stack.db.query<OurOrder>(OUR_ORDERS);
  const truth = truthOf(state);
  const eligible = rows.filter((o) => {
    if (state.tampered.has(o.order_no)) return false;
    const t = truth.get(o.order_no);
    if (variant === 'says-failed') return t?.status === 'SUCCESS';
    return t
      ? t.status === 'FAILED' && isDefinitiveFailureCode(t.code ?? '')
      : o.status === 'FAILED';
  });
  if (eligible.length === 0) return `no order for a ${variant} notice yet`;
  const order = eligible[pick % Math.min(eligible.length, 20)];
  const t = truth.get(order.order_no);
  const amountMinor = BigInt(order.amount_minor);
  const notice: Notice = {
    notifyId: `chaos-${variant}-${pick}-${order.order_no}`.slice(0, 120),
    orderNo: order.order_no,
    kind: order.kind,
    status: variant === 'says-success' ? 'SUCCESS' : 'FAILED',
    ...(variant === 'says-failed' ? { code: 'REJECTED' } : {}),
    amount: formatAmount(amountMinor, order.currency),
    currency: order.currency,
    gatewayTradeNo: t?.gatewayTradeNo ?? `GW-chaos-${pick}`,
    eventSeq: 3,
    eventTime: new Date().toISOString(),
  };
  state.tampered.set(order.order_no, `notice-${variant}`);
  const status = await postNotice(state, notice);
  count(state, `gateway:notice-${variant}`);
  return `${notice.status} for ${order.order_no} (we recorded ${order.status}, the gateway ${t ? `${t.status}${t.code ? ` ${t.code}` : ''}` : 'never got it'}) with the gateway's key → ${status}`;
}

/**
 * After a process restart, the gateway delivers again notices it delivered before (its queue
 * was cut, its retry fired): the same notice ids, signed anew. Each must be a duplicate: 200 and
 * no effect (the receiver remembers notices in Postgres, not in a process).
 */
export async function resendNotices(
  state: RunState,
  howMany: number,
  pick: number,
): Promise<string> {
  if (howMany === 0) return 'no notice re-sent';
  const acked = state.stack.simulator
    .notifications()
    .filter((a) => a.result === 'acked' && (a.status === 'SUCCESS' || a.status === 'FAILED'));
  const ids = [...new Map(acked.map((a) => [a.notifyId, a])).values()].slice(-20);
  if (ids.length === 0) return 'no notice delivered yet';
  const truth = truthOf(state);
  const out: string[] = [];
  for (let i = 0; i < Math.min(howMany, ids.length); i++) {
    const attempt = ids[(pick + i) % ids.length];
    const record = truth.get(attempt.orderNo);
    if (!record || record.status !== attempt.status) continue;
    const status = await postNotice(state, {
      ...gatewayNotice(record, attempt.eventSeq),
      notifyId: attempt.notifyId,
    });
    count(state, 'gateway:notice-duplicate-after-restart');
    if (status !== 200)
      state.alarms.push({
        invariant: 'notices-verified',
        detail: `notice ${attempt.notifyId} (${attempt.status} for ${attempt.orderNo}), delivered before, was answered ${status} when re-sent after a restart, not 200`,
      });
    out.push(`${attempt.notifyId} → ${status}`);
  }
  return `re-sent ${out.join(', ')}`;
}

/**
 * An error in today's statement file for one order the ledger already matches with the gateway's
 * truth: another amount, another fee, or the line listed twice. The ledger is right; an operator
 * who checks the gateway's record accepts the exception (reconciliation/resolve.ts re-derives an
 * adjustment from the statement, so adjusting would book the statement's error: see operators.ts).
 */
export async function statementError(
  state: RunState,
  variant: StatementErrorVariant,
  pick: number,
): Promise<string> {
  const today = new Date().toISOString().slice(0, 10);
  const executed = state.stack.simulator
    .truth()
    .filter(
      (o) =>
        o.status === 'SUCCESS' &&
        o.executedAt?.startsWith(today) &&
        !state.tampered.has(o.orderNo) &&
        !state.secondChannel.has(o.orderNo),
    );
  const { rows } = await state.stack.db.query<{ order_no: string }>(
    `SELECT order_no FROM (${OUR_ORDERS}) o WHERE order_no = ANY($1) AND status = ANY($2)`,
    [executed.map((o) => o.orderNo), [...FINAL]],
  );
  const final = new Set(rows.map((r) => r.order_no));
  const nets = await clearingNets(state, [...final]);
  const matched = executed.filter(
    (o) => final.has(o.orderNo) && nets.get(o.orderNo) === gatewayNet(state, o.orderNo),
  );
  if (matched.length === 0) return `statement-${variant}: no order matched yet`;
  const order = matched[pick % matched.length];
  const delta = BigInt(1 + (pick % 250));
  const body =
    variant === 'amount'
      ? {
          amount: formatAmount(
            order.amountMinor > delta ? order.amountMinor - delta : order.amountMinor + delta,
            order.currency,
          ),
        }
      : variant === 'fee'
        ? { fee: formatAmount((order.feeMinor ?? 0n) + 1n, order.currency) }
        : { duplicate: true };
  const res = await fetch(`${state.stack.simulator.url}/_sim/statement-adjustments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ orderNo: order.orderNo, currency: order.currency, ...body }),
  }).catch((err: Error) => err); // a refuse outage closes the control routes too
  if (res instanceof Error)
    return `statement-${variant}: the simulator could not be reached (${res.message})`;
  if (!res.ok)
    return `statement-${variant}: refused by the simulator: HTTP ${res.status} ${await res.text()}`;
  state.tampered.set(order.orderNo, `statement-${variant}`);
  count(state, `gateway:statement-${variant}`);
  return `statement error for ${order.orderNo}: ${JSON.stringify(body)}`;
}
