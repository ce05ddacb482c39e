// An operator's decision on one reconciliation exception, in one Postgres transaction with its
// ledger effect and its recovery:
// - adjust: the clearing account is corrected to what the gateway really moved, against
//   platform:suspense (money to investigate);
// - recover: money that left to an investor unowed becomes a receivable on
//   platform:recovery-receivable, and a recovery opens against the investor;
// - accept: the gateway's error; nothing is posted.
// What is posted is re-derived when the decision commits, never taken from the amounts frozen in
// the exception: the gateway's side from every loaded statement of the channel (or, for an order
// no statement lists, the gateway's answer now), the ledger's from every posting of the order on
// the clearing account, under locks that a review decision on the same order also takes. An order
// already accounted for is a no-op, recorded (the exception is CLEARED); one still in flight is
// refused. The adjustment carries the order number and the day it adjusts, so a re-run matches it.
import type { Pool, PoolClient } from 'pg';
import type { ExceptionAction } from '../workflows/contracts/reconciliation';
import { accountPath } from '../ledger/accounts';
import { writeAudit } from '../db/audit';
import { inTransaction } from '../db/pool';
import { post } from '../ledger/transactions';
import type { Leg } from '../ledger/types';
import { openRecovery } from '../payments/recoveries';
import type { ExceptionClass } from './match';
import { clearingNets, lockReconOrder } from './order-lock';
import { exceptionRecoveryId } from '../ids/derived';

export type { ExceptionAction } from '../workflows/contracts/reconciliation';

export class ExceptionRefused extends Error {
  override readonly name = 'ExceptionRefused';
}

export interface ExceptionDecision {
  exceptionId: string;
  action: ExceptionAction;
  reason: string;
  operator: string;
  requestId?: string;
  /** Who owes the money back, for a `recover` of an order the platform never made (theirs only). */
  investorId?: string;
}

export interface ResolvedException {
  exceptionId: string;
  action: ExceptionAction;
  /** RESOLVED, or CLEARED when the order turned out accounted for and nothing was posted. */
  status: 'RESOLVED' | 'CLEARED';
  transactionId?: string;
  recoveryId?: string;
}

/** The gateway's answer now about an order no loaded statement lists. */
export type GatewayNow =
  | { executed: true; amountMinor: bigint; currency: string }
  | { executed: false }
  | { unknown: string };
export type AskGateway = (order: {
  orderNo: string;
  kind: 'PAYOUT' | 'COLLECTION';
  amountMinor: bigint;
  currency: string;
}) => Promise<GatewayNow>;

/** Signed like the clearing account's credits (money out: positive), per currency. */
type Nets = Map<string, bigint>;

/**
 * Locks every record of the order (so a review decision waits, or we see its effect) and says
 * whether it is still in flight.
 */
async function lockOrder(tx: PoolClient, orderNo: string): Promise<string | undefined> {
  await lockReconOrder(tx, orderNo);
  const { rows } = await tx.query<{ status: string }>(
    `SELECT status FROM (
       SELECT status FROM payouts WHERE order_no = $1 AND status IN ('HELD', 'MANUAL_REVIEW') FOR UPDATE
     ) p UNION ALL SELECT status FROM (SELECT status FROM deposits WHERE order_no = $1 AND status IN ('PENDING', 'MANUAL_REVIEW') FOR UPDATE) d
     UNION ALL SELECT status FROM (SELECT status FROM repayment_collections WHERE order_no = $1 AND status IN ('SUBMITTED', 'MANUAL_REVIEW') FOR UPDATE) r
     UNION ALL SELECT status FROM (SELECT status FROM recovery_collections WHERE order_no = $1 AND status IN ('SUBMITTED', 'MANUAL_REVIEW') FOR UPDATE) c`,
    [orderNo],
  );
  return rows[0]?.status;
}

async function statementNets(
  tx: PoolClient,
  channel: string,
  orderNo: string,
): Promise<Nets | undefined> {
  const { rows } = await tx.query<{ currency: string; net: string }>(
    `SELECT l.currency, sum(CASE l.kind WHEN 'PAYOUT' THEN l.amount_minor ELSE -l.amount_minor END)::text AS net
     FROM recon_statement_lines l JOIN recon_runs r ON r.id = l.run_id WHERE l.order_no = $1 AND r.channel = $2 GROUP BY 1`,
    [orderNo, channel],
  );
  return rows.length === 0 ? undefined : new Map(rows.map((r) => [r.currency, BigInt(r.net)]));
}

/**
 * What the gateway moved minus what the ledger recorded, in the one currency involved (positive:
 * more left, or less came in).
 */
function difference(gateway: Nets, ledger: Nets): { currency: string; delta: bigint } | undefined {
  const currencies = [...new Set([...gateway.keys(), ...ledger.keys()])].filter(
    (c) => (gateway.get(c) ?? 0n) !== (ledger.get(c) ?? 0n),
  );
  if (currencies.length === 0) return undefined;
  if (currencies.length > 1)
    throw new ExceptionRefused(
      `the order moved ${currencies.join(' and ')}: a currency mismatch is settled with the gateway, or accepted`,
    );
  const [currency] = currencies;
  return { currency, delta: (gateway.get(currency) ?? 0n) - (ledger.get(currency) ?? 0n) };
}

const asText = (nets: Nets) => Object.fromEntries([...nets].map(([c, v]) => [c, v.toString()]));

/** The exception's row with its run's channel and day, as resolveException locks it. */
interface ExceptionRow {
  /** bigint, as pg returns it. */
  id: string;
  class: string;
  order_no: string;
  kind: string | null;
  ours_minor: string | null;
  party_id: string | null;
  detail: { oursCurrency?: string } | null;
  status: string;
  resolution: string | null;
  channel: string;
  day: string;
}

/** One decision being taken: its transaction, the locked exception and what was decided. */
interface Resolving {
  tx: PoolClient;
  runId: string;
  e: ExceptionRow;
  cls: ExceptionClass;
  decision: ExceptionDecision;
}

/** What a decision other than accept did: the order accounted for already, or a correction. */
type Correction = { figures: Record<string, unknown> } & (
  { cleared: true } | { cleared: false; transactionId: string; recoveryId?: string }
);

export async function resolveException(
  pool: Pool,
  runId: string,
  decision: ExceptionDecision,
  askGateway: AskGateway,
): Promise<ResolvedException> {
  return inTransaction(pool, async (tx) => {
    const e = await lockOpenException(tx, runId, decision);
    const r: Resolving = { tx, runId, e, cls: e.class as ExceptionClass, decision };
    const result: ResolvedException = {
      exceptionId: String(e.id),
      action: decision.action,
      status: 'RESOLVED',
    };
    let figures: Record<string, unknown> = {};

    if (decision.action !== 'accept') {
      const correction = await correctLedger(r, askGateway);
      figures = correction.figures;
      if (correction.cleared) return { ...result, status: 'CLEARED' };
      result.transactionId = correction.transactionId;
      if (correction.recoveryId !== undefined) result.recoveryId = correction.recoveryId;
    }
    await recordResolved(r, result, figures);
    return result;
  });
}

/** The exception, locked FOR UPDATE; refused unless it is OPEN. */
async function lockOpenException(
  tx: PoolClient,
  runId: string,
  decision: ExceptionDecision,
): Promise<ExceptionRow> {
  const { rows } = await tx.query(
    `SELECT e.*, r.channel, r.day::text AS day FROM recon_exceptions e JOIN recon_runs r ON r.id = e.run_id
       WHERE e.id = $1 AND e.run_id = $2 FOR UPDATE OF e`,
    [decision.exceptionId, runId],
  );
  const e = rows[0];
  if (!e) throw new ExceptionRefused(`no exception ${decision.exceptionId} in ${runId}`);
  if (e.status === 'PENDING')
    throw new ExceptionRefused(
      `line ${e.id} is not an exception yet (${e.class}): it is looked at again on the next run of the day`,
    );
  if (e.status !== 'OPEN')
    throw new ExceptionRefused(
      `exception ${e.id} is already ${e.status === 'CLEARED' ? 'cleared' : `resolved (${e.resolution})`}`,
    );
  return e;
}

/**
 * adjust or recover: the order locked, both sides re-derived, and the difference posted (with
 * the recovery it opens); or the exception CLEARED when there is no difference left.
 */
async function correctLedger(r: Resolving, askGateway: AskGateway): Promise<Correction> {
  const { tx, e, cls, decision } = r;
  if (cls === 'FEE_MISMATCH')
    throw new ExceptionRefused(
      'fees are not booked per order: a fee mismatch is disputed with the gateway or accepted',
    );
  const inFlight = await lockOrder(tx, e.order_no);
  if (inFlight)
    throw new ExceptionRefused(
      `order ${e.order_no} is still in flight (${inFlight}): its own workflow settles it first`,
    );
  const ledger = await clearingNets(tx, e.channel, e.order_no);
  const gateway = await gatewayNets(tx, e, ledger, askGateway);
  const figures = { ledgerMinor: asText(ledger), gatewayMinor: asText(gateway) };
  const diff = difference(gateway, ledger);
  if (!diff) {
    await clearAccountedFor(r, figures);
    return { figures, cleared: true };
  }
  const { currency, delta } = diff;
  const investorId: string | undefined = decision.investorId ?? e.party_id ?? undefined;
  if (decision.action === 'recover') await checkRecoverable(tx, e, delta, investorId);
  const { transactionId, amount } = await postCorrection(r, currency, delta);
  if (decision.action !== 'recover') return { figures, cleared: false, transactionId };
  const recoveryId = exceptionRecoveryId(String(e.id));
  await openRecovery(tx, {
    id: recoveryId,
    investorId: investorId as string,
    currency,
    amountMinor: amount,
    exceptionId: String(e.id),
    reason: decision.reason,
    openedBy: decision.operator,
  });
  return { figures, cleared: false, transactionId, recoveryId };
}

/**
 * The gateway's side of the order: every loaded statement of the channel, or, for an order no
 * statement lists, the gateway's answer now (refused while it cannot say).
 */
async function gatewayNets(
  tx: PoolClient,
  e: ExceptionRow,
  ledger: Nets,
  askGateway: AskGateway,
): Promise<Nets> {
  const listed = await statementNets(tx, e.channel, e.order_no);
  if (listed) return listed;
  const kind: 'PAYOUT' | 'COLLECTION' = e.kind === 'COLLECTION' ? 'COLLECTION' : 'PAYOUT';
  const currency: string = e.detail?.oursCurrency ?? [...ledger.keys()][0] ?? 'CNY';
  const now = await askGateway({
    orderNo: e.order_no,
    kind,
    amountMinor: BigInt(e.ours_minor ?? 0),
    currency,
  });
  if ('unknown' in now)
    throw new ExceptionRefused(
      `the gateway cannot say now what became of ${e.order_no} (${now.unknown}): try again later`,
    );
  return new Map(
    now.executed ? [[now.currency, kind === 'PAYOUT' ? now.amountMinor : -now.amountMinor]] : [],
  );
}

/**
 * Accounted for since the exception was found (a review decided, a notice, another exception's
 * resolution): CLEARED, audited, nothing posted.
 */
async function clearAccountedFor(r: Resolving, figures: Record<string, unknown>): Promise<void> {
  const { tx, runId, e, cls, decision } = r;
  await tx.query(
    `UPDATE recon_exceptions SET status = 'CLEARED', cleared_at = now(), resolved_by = $2, reason = $3, resolved_at = now(),
                  detail = detail || jsonb_build_object('clearedBy', 'resolution', 'requested', $4::text, 'figures', $5::jsonb) WHERE id = $1`,
    [e.id, decision.operator, decision.reason, decision.action, JSON.stringify(figures)],
  );
  await writeAudit(tx, {
    actor: decision.operator,
    action: 'exception.cleared',
    subject: `${runId}#${e.id}`,
    reason: decision.reason,
    requestId: decision.requestId,
    details: {
      requested: decision.action,
      class: cls,
      orderNo: e.order_no,
      why: 'the order is already accounted for: nothing posted',
      ...figures,
    },
  });
}

/** recover: only money paid out that was not owed, to an investor that exists. */
async function checkRecoverable(
  tx: PoolClient,
  e: ExceptionRow,
  delta: bigint,
  investorId: string | undefined,
): Promise<void> {
  if (e.kind !== 'PAYOUT' || delta < 0n)
    throw new ExceptionRefused('only money paid out that was not owed can be recovered');
  if (!investorId)
    throw new ExceptionRefused(
      'say which investor was paid (investorId): the platform never made this order',
    );
  const { rowCount } = await tx.query(`SELECT 1 FROM parties WHERE id = $1 AND kind = 'investor'`, [
    investorId,
  ]);
  if (rowCount === 0) throw new ExceptionRefused(`no investor ${investorId}`);
}

/**
 * The clearing account corrected by the difference, against platform:suspense (adjust) or
 * platform:recovery-receivable (recover).
 */
async function postCorrection(
  r: Resolving,
  currency: string,
  delta: bigint,
): Promise<{ transactionId: string; amount: bigint }> {
  const { tx, runId, e, cls, decision } = r;
  const clearing = accountPath.gatewayClearing(e.channel);
  const other =
    decision.action === 'recover'
      ? accountPath.platformRecoveryReceivable()
      : accountPath.platformSuspense();
  const amount = delta < 0n ? -delta : delta;
  // More left the gateway than recorded: the clearing account is credited (it holds less).
  const legs: Leg[] = [
    { account: clearing, direction: delta > 0n ? 'credit' : 'debit', amount, currency },
    { account: other, direction: delta > 0n ? 'debit' : 'credit', amount, currency },
  ];
  const posted = await post(tx, {
    idempotencyKey: `recon:${runId}:exception:${e.id}:${decision.action}`,
    legs,
    metadata: {
      orderNo: e.order_no,
      reconDay: e.day,
      reconRunId: runId,
      exceptionId: String(e.id),
      exceptionClass: cls,
      decision: decision.action,
      decidedBy: decision.operator,
      reason: decision.reason,
    },
  });
  return { transactionId: posted.transactionId, amount };
}

/** The exception RESOLVED with what the decision posted and opened, audited. */
async function recordResolved(
  r: Resolving,
  result: ResolvedException,
  figures: Record<string, unknown>,
): Promise<void> {
  const { tx, runId, e, cls, decision } = r;
  await tx.query(
    `UPDATE recon_exceptions SET status = 'RESOLVED', resolution = $2, resolved_by = $3, reason = $4, transaction_id = $5, recovery_id = $6,
              party_id = coalesce(party_id, $7), resolved_at = now() WHERE id = $1`,
    [
      e.id,
      decision.action,
      decision.operator,
      decision.reason,
      result.transactionId ?? null,
      result.recoveryId ?? null,
      decision.investorId ?? null,
    ],
  );
  await writeAudit(tx, {
    actor: decision.operator,
    action: 'exception.resolved',
    subject: `${runId}#${e.id}`,
    reason: decision.reason,
    requestId: decision.requestId,
    details: {
      action: decision.action,
      class: cls,
      orderNo: e.order_no,
      transactionId: result.transactionId ?? null,
      recoveryId: result.recoveryId ?? null,
      ...figures,
    },
  });
}
