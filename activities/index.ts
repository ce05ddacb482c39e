import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { GatewayClient } from '../gateway/client';
import { createDecisionActivities } from './decisions';
import { pausableGateway } from './gateway-pause';
import { createDepositActivities } from './deposits';
import { createHousekeepingActivities } from './housekeeping';
import { createLoanActivities } from './loans';
import { createPayoutActivities } from './payouts';
import { createReconciliationActivities } from './reconciliation';
import { createRecoveryActivities } from './recoveries';
import { createRepaymentActivities } from './repayments';
import { createSmokeActivities } from './smoke';

export interface ActivityDeps {
  pool: Pool;
  /** For activities that signal or start other workflows. */
  temporal: Client;
  gateway: GatewayClient;
  /**
   * How long stored Idempotency-Key responses are kept (IDEMPOTENCY_RETENTION_HOURS); default 7
   * days.
   */
  idempotencyRetentionHours?: number;
  /**
   * How long a newly added bank account waits before scheduled payouts and disbursements go to
   * it (BANK_ACCOUNT_COOLING_OFF_SECONDS); none unless given.
   */
  bankAccountCoolingOffSeconds?: number;
}

/**
 * Every activity, built from its dependencies: the worker passes real clients, tests pass theirs.
 */
export function createActivities(given: ActivityDeps) {
  // Every new order passes the emergency stop (activities/gateway-pause.ts).
  const deps = { ...given, gateway: pausableGateway(given.gateway, given.pool) };
  return {
    ...createSmokeActivities(deps),
    ...createLoanActivities(deps),
    ...createDepositActivities(deps),
    ...createPayoutActivities(deps),
    ...createRepaymentActivities(deps),
    ...createReconciliationActivities(deps),
    ...createRecoveryActivities(deps),
    ...createDecisionActivities(deps),
    ...createHousekeepingActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
