// An operator's decision on one reconciliation exception, in one Postgres transaction with its
// ledger effect and its recovery:
// - adjust: the clearing account is corrected to what the gateway really moved, against
//   platform:suspense (money to investigate);
// - recover: money that left to an investor unowed becomes a receivable on
//   platform:recovery-receivable, and a recovery opens against the investor;
// - accept: the gateway's error; nothing is posted.
// The adjustment carries the order number and the day it adjusts, so a re-run of the day matches it.
import type { Pool } from 'pg';
import { accountPath } from '../ledger/accounts';
import { writeAudit } from '../ledger/audit';
import { inTransaction } from '../ledger/db';
import { post } from '../ledger/transactions';
import type { Leg } from '../ledger/types';
import { openRecovery } from '../payments/recoveries';
import type { ExceptionClass } from './match';

export type ExceptionAction = 'adjust' | 'recover' | 'accept';

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
  transactionId?: string;
  recoveryId?: string;
}

/**
 * What really moved at the gateway minus what our ledger recorded, for the clearing account:
 * positive when more left (payouts) or less came in (collections) than we wrote down. A side
 * with nothing (theirs only, ours only, either status mismatch) counts as zero.
 */
function shortfall(kind: string, oursMinor: bigint, theirsMinor: bigint): bigint {
  return kind === 'PAYOUT' ? theirsMinor - oursMinor : oursMinor - theirsMinor;
}

export async function resolveException(pool: Pool, runId: string, decision: ExceptionDecision): Promise<ResolvedException> {
  return inTransaction(pool, async (tx) => {
    const { rows } = await tx.query(
      `SELECT e.*, r.channel, r.day::text AS day, l.currency AS line_currency FROM recon_exceptions e JOIN recon_runs r ON r.id = e.run_id
       LEFT JOIN LATERAL (SELECT currency FROM recon_statement_lines WHERE run_id = e.run_id AND order_no = e.order_no LIMIT 1) l ON true
       WHERE e.id = $1 AND e.run_id = $2 FOR UPDATE OF e`, [decision.exceptionId, runId]);
    const e = rows[0];
    if (!e) throw new ExceptionRefused(`no exception ${decision.exceptionId} in ${runId}`);
    if (e.status !== 'OPEN') throw new ExceptionRefused(`exception ${e.id} is already resolved (${e.resolution})`);
    const cls = e.class as ExceptionClass;
    const currency: string = e.line_currency ?? e.detail?.oursCurrency ?? 'CNY';
    const delta = shortfall(e.kind, BigInt(e.ours_minor ?? 0), BigInt(e.theirs_minor ?? 0));
    const result: ResolvedException = { exceptionId: String(e.id), action: decision.action };

    if (decision.action !== 'accept') {
      if (cls === 'FEE_MISMATCH') throw new ExceptionRefused('fees are not booked per order: a fee mismatch is disputed with the gateway or accepted');
      if (delta === 0n) throw new ExceptionRefused('nothing to adjust: both sides moved the same money');
      const investorId: string | undefined = decision.investorId ?? e.party_id ?? undefined;
      if (decision.action === 'recover') {
        if (e.kind !== 'PAYOUT' || delta < 0n) throw new ExceptionRefused('only money paid out that was not owed can be recovered');
        if (!investorId) throw new ExceptionRefused('say which investor was paid (investorId): the platform never made this order');
        const { rowCount } = await tx.query(`SELECT 1 FROM parties WHERE id = $1 AND kind = 'investor'`, [investorId]);
        if (rowCount === 0) throw new ExceptionRefused(`no investor ${investorId}`);
      }
      const clearing = accountPath.gatewayClearing(e.channel);
      const other = decision.action === 'recover' ? accountPath.platformRecoveryReceivable() : accountPath.platformSuspense();
      const amount = delta < 0n ? -delta : delta;
      // More left the gateway than recorded: the clearing account is credited (it holds less).
      const legs: Leg[] = [
        { account: clearing, direction: delta > 0n ? 'credit' : 'debit', amount, currency },
        { account: other, direction: delta > 0n ? 'debit' : 'credit', amount, currency },
      ];
      const posted = await post(tx, {
        idempotencyKey: `recon:${runId}:exception:${e.id}:${decision.action}`, legs,
        metadata: {
          orderNo: e.order_no, reconDay: e.day, reconRunId: runId, exceptionId: String(e.id), exceptionClass: cls,
          decision: decision.action, decidedBy: decision.operator, reason: decision.reason,
        },
      });
      result.transactionId = posted.transactionId;
      if (decision.action === 'recover') {
        result.recoveryId = `rc-${e.id}`;
        await openRecovery(tx, {
          id: result.recoveryId, investorId: investorId as string, currency, amountMinor: amount, exceptionId: String(e.id),
          reason: decision.reason, openedBy: decision.operator,
        });
      }
    }
    await tx.query(
      `UPDATE recon_exceptions SET status = 'RESOLVED', resolution = $2, resolved_by = $3, reason = $4, transaction_id = $5, recovery_id = $6,
              party_id = coalesce(party_id, $7), resolved_at = now() WHERE id = $1`,
      [e.id, decision.action, decision.operator, decision.reason, result.transactionId ?? null, result.recoveryId ?? null, decision.investorId ?? null]);
    await writeAudit(tx, {
      actor: decision.operator, action: 'exception.resolved', subject: `${runId}#${e.id}`, reason: decision.reason, requestId: decision.requestId,
      details: { action: decision.action, class: cls, orderNo: e.order_no, transactionId: result.transactionId ?? null, recoveryId: result.recoveryId ?? null },
    });
    return result;
  });
}
