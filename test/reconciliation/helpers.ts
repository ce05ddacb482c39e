// Shared by the reconciliation tests: a payout through the real workflow, the simulator's
// statement errors and second-channel payments, and reading a reconciled day through the API.
import type { FastifyInstance } from 'fastify';
import type { WorkflowHandle } from '@temporalio/client';
import type { Pool } from 'pg';
import type { QueryPolicy } from '../../workflows/contracts/gateway-order';
import { useOperatorGatewayApp, type GatewayWorld } from '../helpers/gateway-world';
import { fundInvestor } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import { until } from '../repayments/helpers';
import { createInvestor, startWithdrawalPayout } from '../helpers/withdrawals';

export const FAST: QueryPolicy = { attempts: 2, initialIntervalMs: 200, maxIntervalMs: 400 };
export const today = () => new Date().toISOString().slice(0, 10);

/**
 * A reconciliation test file's world: the gateway world and API with an operator, and one
 * investor (created through the API, no bank account on file) funded with 10,000,000 minor units
 * before the file's tests. After each test the ledger is consistent; with `resetAfterEach` the
 * simulator's faults and outage are cleared first.
 */
export function useFundedInvestorApp(
  investor: { id: string; name: string },
  options: { resetAfterEach?: boolean } = {},
): ReturnType<typeof useOperatorGatewayApp> {
  const gatewayApp = useOperatorGatewayApp();
  const { world, db } = gatewayApp;
  beforeAll(async () => {
    const res = await createInvestor(gatewayApp.app, {
      ...investor,
      key: investor.id,
      withBankAccount: false,
    });
    if (res.statusCode >= 300)
      throw new Error(`creating investor ${investor.id}: ${res.statusCode} ${res.body}`);
    await fundInvestor(db, investor.id, 10_000_000n);
  });
  afterEach(async () => {
    if (options.resetAfterEach) await world.reset();
    await expectLedgerConsistent(db.pool);
  });
  return gatewayApp;
}

/**
 * A withdrawal paid through the Payout workflow (started here, with a short query policy); its
 * final state.
 */
export async function payOut(
  world: GatewayWorld,
  pool: Pool,
  id: string,
  investorId: string,
  amountMinor: bigint,
): Promise<string> {
  return (await startPayOut(world, pool, id, investorId, amountMinor)).result();
}

/** The same, without waiting for the end: the workflow's handle. */
export async function startPayOut(
  world: GatewayWorld,
  pool: Pool,
  id: string,
  investorId: string,
  amountMinor: bigint,
  queryPolicy: QueryPolicy = FAST,
) {
  return startWithdrawalPayout(world.env.client, pool, {
    id,
    investorId,
    amountMinor,
    queryPolicy,
  });
}

/**
 * Polls a gateway-order workflow's review evidence until it is in MANUAL_REVIEW, at most 100
 * times, 100 ms apart; returns either way (the caller's next step fails if it never got there).
 * With `queryErrors: 'retry'` a failed query counts as not yet; otherwise it throws.
 */
export async function untilManualReview(
  handle: WorkflowHandle,
  options: { queryErrors?: 'retry' | 'throw' } = {},
): Promise<void> {
  const state = () =>
    handle
      .query('reviewEvidence')
      .then(
        (e) => (e as { state: string }).state,
        options.queryErrors === 'retry' ? () => '' : undefined,
      );
  for (let i = 0; i < 100 && (await state()) !== 'MANUAL_REVIEW'; i++)
    await new Promise((r) => setTimeout(r, 100));
}

export async function simulatorControl(
  world: GatewayWorld,
  path: string,
  body: object,
): Promise<void> {
  const res = await fetch(`${world.simulator.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
}

export interface DayView {
  state: string;
  matched: number;
  ours: { count: number; amount: string };
  theirs: { count: number; amount: string };
  exceptionsByClass: Record<string, { count: number; open: number }>;
  exceptions: {
    id: string;
    class: string;
    orderNo: string;
    status: string;
    ours: string | null;
    theirs: string | null;
    partyId: string | null;
    recoveryId: string | null;
  }[];
}

/** Starts (or re-runs) the day through the API and waits until it has matched. */
export async function reconcile(
  app: FastifyInstance,
  operator: Record<string, string>,
  date: string,
  rerun = false,
): Promise<DayView> {
  const asked = Date.now();
  const res = await app.inject({
    method: 'POST',
    url: '/v1/reconciliations',
    headers: operator,
    payload: { channel: 'default', date, ...(rerun ? { rerun } : {}) },
  });
  if (res.statusCode !== 202)
    throw new Error(`POST /v1/reconciliations: ${res.statusCode} ${res.body}`);
  const fresh = rerun || res.json<{ started: boolean }>().started;
  const read = async () => {
    const day = await app.inject({
      method: 'GET',
      url: `/v1/reconciliations/default/${date}`,
      headers: operator,
    });
    return day.statusCode === 200 ? day.json<DayView & { matchedAt?: string | null }>() : undefined;
  };
  // Wait for the verdict of this run: a re-run first goes back to FETCHED and matches anew.
  const verdict = (d: (DayView & { matchedAt?: string | null }) | undefined) =>
    d !== undefined &&
    ['EXCEPTIONS', 'CLEAN', 'PENDING'].includes(d.state) &&
    !!d.matchedAt &&
    (!fresh || Date.parse(d.matchedAt) >= asked - 5);
  return (await until(read, verdict, 30_000)) as DayView;
}

/**
 * What the ledger moved through the channel's clearing account for one order, all days together
 * (payouts positive).
 */
export async function clearingNet(pool: Pool, orderNo: string): Promise<bigint> {
  const {
    rows: [r],
  } = await pool.query<{ net: string }>(
    `SELECT coalesce(sum(CASE p.direction WHEN 'C' THEN p.amount ELSE -p.amount END), 0)::text AS net
     FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id AND NOT p.pending
     JOIN ledger_accounts a ON a.id = p.account_id AND a.path = 'gateway:default:clearing'
     WHERE t.metadata->>'orderNo' = $1`,
    [orderNo],
  );
  return BigInt(r.net);
}
