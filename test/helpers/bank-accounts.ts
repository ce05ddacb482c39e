// A bank account on file and verified, through the real API and the Payout workflow's penny test
// on the real gateway simulator: what a deposit or withdrawal test needs first.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { BankAccount } from '../../gateway/protocol';
import { workflowIds } from '../../ids/workflow-ids';
import type { Pool } from 'pg';
import { inTransaction } from '../../db/pool';
import { addBankAccount as putOnFile, verificationPayoutId } from '../../payments/bank-accounts';
import { getPayout, postPayout, setPayoutStatus } from '../../payments/payouts';
import { voidPending } from '../../ledger/transactions';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import type { PayoutState } from '../../workflows/contracts/payout';
import { approveHeld } from './approvals';
import type { TestDatabase } from './postgres';

let added = 0;

/** POST …/bank-accounts; the account's id (VERIFYING). */
export async function addBankAccount(
  app: FastifyInstance,
  p: {
    kind?: 'investor' | 'borrower';
    partyId: string;
    authorization: string;
    account: BankAccount;
  },
): Promise<string> {
  added += 1;
  const res = await app.inject({
    method: 'POST',
    url: `/v1/${p.kind ?? 'investor'}s/${p.partyId}/bank-accounts`,
    headers: {
      authorization: p.authorization,
      'idempotency-key': `add-account-${added}-${Date.now()}`,
    },
    payload: p.account,
  });
  // An operator's or admin's add waits for a second operator: approved here, as one would.
  if (res.statusCode === 202)
    return (await approveHeld<{ bankAccountId: string }>(app, res)).bankAccountId;
  if (res.statusCode !== 201) throw new Error(`adding an account: ${res.statusCode} ${res.body}`);
  return res.json<{ bankAccountId: string }>().bankAccountId;
}

/**
 * Runs the account's penny test (the Payout workflow its outbox row asks for, started here rather
 * than by a dispatcher) to its end; its final state.
 */
export async function runPennyTest(
  temporal: Client,
  db: TestDatabase,
  p: { partyId: string; bankAccountId: string },
): Promise<PayoutState> {
  const payoutId = verificationPayoutId(p.bankAccountId);
  const workflowId = workflowIds.payout(payoutId);
  await db.pool.query('DELETE FROM outbox WHERE workflow_id = $1', [workflowId]);
  const handle = await temporal.workflow.start('payoutWorkflow', {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [
      {
        payoutId,
        partyId: p.partyId,
        queryPolicy: { attempts: 3, initialIntervalMs: 200, maxIntervalMs: 400 },
      },
    ],
  });
  return (await handle.result()) as PayoutState;
}

/** Adds the account and verifies it; its id. */
export async function addVerifiedBankAccount(
  app: FastifyInstance,
  temporal: Client,
  db: TestDatabase,
  p: {
    kind?: 'investor' | 'borrower';
    partyId: string;
    authorization: string;
    account: BankAccount;
  },
): Promise<string> {
  const bankAccountId = await addBankAccount(app, p);
  const state = await runPennyTest(temporal, db, { partyId: p.partyId, bankAccountId });
  if (state !== 'SUCCEEDED') throw new Error(`the penny test of ${bankAccountId} ended ${state}`);
  return bankAccountId;
}

/**
 * For tests with no gateway: adds the account through the API and settles its penny test as the
 * Payout workflow would on a verified success (payments/payouts.ts postPayout), not started.
 */
export async function addAccountVerifiedWithoutGateway(
  app: FastifyInstance,
  db: TestDatabase,
  p: {
    kind?: 'investor' | 'borrower';
    partyId: string;
    authorization: string;
    account: BankAccount;
  },
): Promise<string> {
  const bankAccountId = await addBankAccount(app, p);
  const payoutId = verificationPayoutId(bankAccountId);
  await db.pool.query('DELETE FROM outbox WHERE workflow_id = $1', [workflowIds.payout(payoutId)]);
  const payout = await getPayout(db.pool, payoutId);
  if (!payout) throw new Error(`no penny test for ${bankAccountId}`);
  await postPayout(db.pool, payout, { test: 'verified without a gateway' });
  return bankAccountId;
}

/**
 * For fixtures that make parties in Postgres, with no API or gateway: the account put on file and
 * its penny test marked succeeded, never sent. Its hold is released, not posted: the gateway never
 * moved the 0.01, so the ledger must not say it did (the fixture would otherwise be an exception
 * in every reconciliation and in every ledger-against-gateway check). Where the party's scheduled
 * payouts go.
 */
export async function putVerifiedAccountOnFile(
  pool: Pool,
  partyId: string,
  account: BankAccount,
): Promise<string> {
  // The penny test's start is taken back in the transaction that asks for it: a dispatcher that is
  // running (a bench on the live stack) never sees it.
  const bankAccountId = await inTransaction(pool, async (tx) => {
    const added = await putOnFile(tx, { partyId, account, actor: 'test:fixture' });
    await tx.query('DELETE FROM outbox WHERE workflow_id = $1', [
      workflowIds.payout(verificationPayoutId(added.bankAccountId)),
    ]);
    return added.bankAccountId;
  });
  const payoutId = verificationPayoutId(bankAccountId);
  const payout = await getPayout(pool, payoutId);
  if (!payout) throw new Error(`no penny test for ${bankAccountId}`);
  await voidPending(pool, {
    idempotencyKey: `payout:${payoutId}:void`,
    pendingId: payout.holdTransactionId,
    metadata: { payoutId, test: 'verified without a gateway' },
  });
  await setPayoutStatus(pool, payoutId, 'SUCCEEDED');
  return bankAccountId;
}

/**
 * The party's verified account on file, put there first (putVerifiedAccountOnFile) when it has
 * none: what a test that records a payout or deposit by hand names (no number is written in clear).
 */
export async function accountOnFile(
  pool: Pool,
  partyId: string,
  account: BankAccount,
): Promise<string> {
  const { rows } = await pool.query<{ id: string | null }>(
    'SELECT verified_account_of($1, 0) AS id',
    [partyId],
  );
  return rows[0].id ?? putVerifiedAccountOnFile(pool, partyId, account);
}
