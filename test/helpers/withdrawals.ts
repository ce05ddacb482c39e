// The one place tests create an investor through the API and record a withdrawal payout
// directly (without POST /v1/withdrawals), so that the request and payout bodies live once.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { createPayout } from '../../payments/payouts';
import { payoutWorkflow } from '../../workflows';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import type { QueryPolicy } from '../../workflows/contracts/gateway-order';
import { workflowIds } from '../../ids/workflow-ids';
import { ADMIN_KEY } from '../api/helpers';
import { ACCOUNT } from '../gateway/helpers';
import { accountOnFile } from './bank-accounts';

/**
 * POST /v1/investors as the admin, under the idempotency key `key`; with `withBankAccount` the
 * test bank account is given too (put on file, its penny test asked for). The response is the
 * caller's to check.
 */
export function createInvestor(
  app: FastifyInstance,
  investor: { id: string; name: string; key: string; withBankAccount?: boolean },
) {
  return app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'idempotency-key': investor.key },
    payload: {
      id: investor.id,
      name: investor.name,
      ...(investor.withBankAccount ? { bankAccount: ACCOUNT } : {}),
    },
  });
}

/**
 * A withdrawal of an investor's available balance to the test bank account, recorded as the API
 * records one; its Payout workflow is not started (the outbox row is left to the caller).
 */
export async function createWithdrawalPayout(
  pool: Pool,
  id: string,
  investorId: string,
  amountMinor: bigint,
): Promise<void> {
  await createPayout(pool, {
    id,
    purpose: 'withdrawal',
    partyId: investorId,
    sourceAccount: `investor:${investorId}:available`,
    amountMinor,
    currency: 'CNY',
    bankAccountId: await accountOnFile(pool, investorId, ACCOUNT),
  });
}

/**
 * The same, its outbox row removed and its Payout workflow started here instead of by the
 * dispatcher, with the given query policy: the workflow's handle.
 */
export async function startWithdrawalPayout(
  client: Client,
  pool: Pool,
  payout: { id: string; investorId: string; amountMinor: bigint; queryPolicy: QueryPolicy },
) {
  const { id, investorId } = payout;
  await createWithdrawalPayout(pool, id, investorId, payout.amountMinor);
  await pool.query('DELETE FROM outbox WHERE workflow_id = $1', [workflowIds.payout(id)]);
  return client.workflow.start(payoutWorkflow, {
    workflowId: workflowIds.payout(id),
    taskQueue: TASK_QUEUE,
    args: [{ payoutId: id, partyId: investorId, queryPolicy: payout.queryPolicy }],
  });
}
