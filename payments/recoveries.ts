// Recoveries in Postgres: money paid that was not owed, owed back by an investor. Opened with a
// receivable on platform:recovery-receivable; cleared by offsetting the investor's next payouts
// (never below zero), or written off by an operator. No Temporal here.
import { accountPath } from '../ledger/accounts';
import { recoveryClosedSignal } from '../workflows/contracts/recovery';
import { enqueueSignal, enqueueStart } from '../outbox/enqueue';
import { writeAudit } from '../db/audit';
import { post, transfer } from '../ledger/transactions';
import type { Queryable } from '../ledger/types';
import { workflowIds } from '../ids/workflow-ids';
import { newIds } from '../ids/new-ids';
import { recordDecisionIn } from '../decisions/operator-decisions';

export type RecoveryState = 'OPEN' | 'OFFSETTING' | 'REQUESTED' | 'RECOVERED' | 'WRITTEN_OFF';

export interface Recovery {
  id: string;
  investorId: string;
  currency: string;
  amountMinor: bigint;
  recoveredMinor: bigint;
  writtenOffMinor: bigint;
  state: RecoveryState;
  exceptionId: string | null;
  reason: string;
  openedBy: string;
  createdAt: Date;
  closedAt: Date | null;
}

function toRecovery(r: Record<string, never>): Recovery {
  return {
    id: r.id,
    investorId: r.investor_id,
    currency: r.currency,
    amountMinor: BigInt(r.amount_minor),
    recoveredMinor: BigInt(r.recovered_minor),
    writtenOffMinor: BigInt(r.written_off_minor),
    state: r.state,
    exceptionId: r.exception_id === null ? null : String(r.exception_id),
    reason: r.reason,
    openedBy: r.opened_by,
    createdAt: r.created_at,
    closedAt: r.closed_at,
  };
}

export async function getRecovery(db: Queryable, id: string): Promise<Recovery | undefined> {
  const { rows } = await db.query('SELECT * FROM recoveries WHERE id = $1', [id]);
  return rows[0] ? toRecovery(rows[0]) : undefined;
}

export async function listRecoveries(
  db: Queryable,
  filter: { investorId?: string; open?: boolean },
  limit: number,
): Promise<Recovery[]> {
  const { rows } = await db.query(
    `SELECT * FROM recoveries WHERE ($1::text IS NULL OR investor_id = $1)
       AND ($2::boolean IS NULL OR (state IN ('OPEN', 'OFFSETTING', 'REQUESTED')) = $2)
     ORDER BY created_at DESC LIMIT $3`,
    [filter.investorId ?? null, filter.open ?? null, limit],
  );
  return rows.map(toRecovery);
}

/**
 * Opens a recovery in the caller's transaction (the receivable is already posted by the caller,
 * e.g. a reconciliation's adjustment): OFFSETTING, and its workflow asked for through the outbox.
 */
export async function openRecovery(
  tx: Queryable,
  r: {
    id: string;
    investorId: string;
    currency: string;
    amountMinor: bigint;
    exceptionId?: string;
    reason: string;
    openedBy: string;
    decisionId?: string;
  },
): Promise<void> {
  await tx.query(
    `INSERT INTO recoveries (id, investor_id, currency, amount_minor, state, exception_id, reason, opened_by)
     VALUES ($1, $2, $3, $4, 'OFFSETTING', $5, $6, $7)`,
    [
      r.id,
      r.investorId,
      r.currency,
      r.amountMinor.toString(),
      r.exceptionId ?? null,
      r.reason,
      r.openedBy,
    ],
  );
  await enqueueStart(tx, 'recoveryWorkflow', workflowIds.recovery(r.id), {
    recoveryId: r.id,
    investorId: r.investorId,
    ...(r.decisionId ? { decisionId: r.decisionId } : {}),
  });
}

/**
 * A recovery an operator opens by hand (money paid that was not owed, found other than by
 * reconciliation): the loss booked now into suspense against the receivable the investor owes
 * back, the operator's decision row (the recovery's workflow takes it when it starts), the
 * recovery and its start, and the audit row, all in the caller's transaction. Returns its id.
 */
export async function openRecoveryByHand(
  tx: Queryable,
  r: {
    investorId: string;
    amountMinor: bigint;
    currency: string;
    amount: string;
    reason: string;
    actor: string;
    requestId?: string;
    /** The approval that let it open, and its checker (maker-checker). */
    approval?: { approvalId: string; approvedBy: string };
    /** Named when it was held for approval (newIds.manualRecovery()); a new one otherwise. */
    id?: string;
  },
): Promise<string> {
  const id = r.id ?? newIds.manualRecovery();
  await post(tx, {
    idempotencyKey: `recovery:${id}:open`,
    legs: [
      {
        account: accountPath.platformRecoveryReceivable(),
        direction: 'debit',
        amount: r.amountMinor,
        currency: r.currency,
      },
      {
        account: accountPath.platformSuspense(),
        direction: 'credit',
        amount: r.amountMinor,
        currency: r.currency,
      },
    ],
    metadata: { recoveryId: id, decidedBy: r.actor, reason: r.reason, decision: 'open_recovery' },
  });
  const decisionId = await recordDecisionIn(tx, {
    workflowId: workflowIds.recovery(id),
    kind: 'recovery.open',
    actor: r.actor,
    reason: r.reason,
    requestId: r.requestId,
    payload: { investorId: r.investorId, amount: r.amount, ...r.approval },
  });
  await openRecovery(tx, {
    id,
    investorId: r.investorId,
    currency: r.currency,
    amountMinor: r.amountMinor,
    reason: r.reason,
    openedBy: r.actor,
    decisionId,
  });
  await writeAudit(tx, {
    actor: r.actor,
    action: 'recovery.opened',
    subject: id,
    reason: r.reason,
    requestId: r.requestId,
    details: { investorId: r.investorId, amount: r.amount, ...r.approval },
  });
  return id;
}

/**
 * Before a payout to the investor leaves: takes up to `availableMinor` from their balance to clear
 * their open recoveries, oldest first (investor:{id}:available → platform:recovery-receivable),
 * once per payout (ledger key per recovery and payout). Never more than the balance holds: the
 * ledger refuses a user account below zero. Returns the amount taken; the caller pays out the rest.
 * A recovery cleared here is RECOVERED, and its workflow is told through the outbox.
 *
 * What this payout already took (an activity retried after it committed) is found by the payout's
 * id, whatever its recovery's state now: an offset that cleared a recovery closed it, and a lookup
 * by open recoveries would no longer see it and hold the whole amount again.
 */
export async function offsetFromPayout(
  tx: Queryable,
  input: { investorId: string; currency: string; payoutId: string; availableMinor: bigint },
): Promise<bigint> {
  const { rows: earlier } = await tx.query<{ recovery_id: string; amount_minor: string }>(
    `SELECT o.recovery_id, o.amount_minor::text FROM recovery_offsets o JOIN recoveries r ON r.id = o.recovery_id
     WHERE o.payout_id = $1 AND r.investor_id = $2 AND r.currency = $3 ORDER BY o.recovery_id`,
    [input.payoutId, input.investorId, input.currency],
  );
  let taken = earlier.reduce((acc, o) => acc + BigInt(o.amount_minor), 0n);
  if (taken > input.availableMinor)
    throw new Error(
      `payout ${input.payoutId} already offset ${taken}, more than its ${input.availableMinor}`,
    );
  let left = input.availableMinor - taken;
  const offsetAlready = new Set(earlier.map((o) => o.recovery_id));
  const { rows } = await tx.query(
    `SELECT * FROM recoveries WHERE investor_id = $1 AND currency = $2 AND state = 'OFFSETTING' ORDER BY created_at, id FOR UPDATE`,
    [input.investorId, input.currency],
  );
  for (const recovery of rows.map(toRecovery)) {
    if (left === 0n) break;
    if (offsetAlready.has(recovery.id)) continue; // this payout took its part already
    const owed = recovery.amountMinor - recovery.recoveredMinor - recovery.writtenOffMinor;
    const take = owed < left ? owed : left;
    if (take <= 0n) continue;
    const result = await transfer(tx, {
      idempotencyKey: `recovery:${recovery.id}:offset:${input.payoutId}`,
      from: accountPath.investorAvailable(input.investorId),
      to: accountPath.platformRecoveryReceivable(),
      amount: take,
      currency: input.currency,
      metadata: {
        recoveryId: recovery.id,
        payoutId: input.payoutId,
        workflowId: workflowIds.recovery(recovery.id),
        reason: "offset against the investor's payout",
      },
    });
    await tx.query(
      'INSERT INTO recovery_offsets (recovery_id, payout_id, amount_minor, transaction_id) VALUES ($1, $2, $3, $4)',
      [recovery.id, input.payoutId, take.toString(), result.transactionId],
    );
    const cleared = take === owed;
    await tx.query(
      `UPDATE recoveries SET recovered_minor = recovered_minor + $2, state = CASE WHEN $3 THEN 'RECOVERED' ELSE state END,
              closed_at = CASE WHEN $3 THEN now() ELSE closed_at END WHERE id = $1`,
      [recovery.id, take.toString(), cleared],
    );
    if (cleared) {
      await enqueueSignal(tx, workflowIds.recovery(recovery.id), recoveryClosedSignal);
    }
    taken += take;
    left -= take;
  }
  return taken;
}

/** An operator gives up the rest of a recovery: platform:write-offs ← receivable, WRITTEN_OFF. */
export async function writeOffRecovery(
  tx: Queryable,
  id: string,
  decision: { operator: string; reason: string; requestId?: string },
): Promise<Recovery> {
  const { rows } = await tx.query('SELECT * FROM recoveries WHERE id = $1 FOR UPDATE', [id]);
  if (!rows[0]) throw new Error(`recovery ${id} does not exist`);
  const recovery = toRecovery(rows[0]);
  // Written off before: that write-off's own audit row stands.
  if (recovery.state === 'WRITTEN_OFF') return recovery;
  // Recovered while the decision waited (an offset cleared it): the operator's write-off did
  // nothing, and the audit log says so (chaos seed 53), once.
  if (recovery.state === 'RECOVERED') {
    await writeAudit(tx, {
      actor: decision.operator,
      action: 'recovery.write_off_found_nothing',
      subject: id,
      reason: decision.reason,
      requestId: decision.requestId,
      details: { state: recovery.state, recoveredMinor: recovery.recoveredMinor.toString() },
      idempotencyKey: `recovery.write_off_found_nothing:${id}`,
    });
    return recovery;
  }
  const rest = recovery.amountMinor - recovery.recoveredMinor;
  await post(tx, {
    idempotencyKey: `recovery:${id}:write-off`,
    legs: [
      {
        account: 'platform:write-offs',
        direction: 'debit',
        amount: rest,
        currency: recovery.currency,
      },
      {
        account: accountPath.platformRecoveryReceivable(),
        direction: 'credit',
        amount: rest,
        currency: recovery.currency,
      },
    ],
    metadata: {
      recoveryId: id,
      workflowId: workflowIds.recovery(id),
      decidedBy: decision.operator,
      reason: decision.reason,
      decision: 'write_off',
    },
  });
  await tx.query(
    `UPDATE recoveries SET written_off_minor = $2, state = 'WRITTEN_OFF', closed_at = now() WHERE id = $1`,
    [id, rest.toString()],
  );
  // A recovery is written off once: its audit row too, whoever asks again.
  await writeAudit(tx, {
    actor: decision.operator,
    action: 'recovery.written_off',
    subject: id,
    reason: decision.reason,
    requestId: decision.requestId,
    details: { writtenOffMinor: rest.toString() },
    idempotencyKey: `recovery.written_off:${id}`,
  });
  return (await getRecovery(tx, id)) as Recovery;
}
