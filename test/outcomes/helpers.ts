// The world of the outcome-table tests: the real gateway simulator, a real Temporal dev server, a
// worker and the API (with the gateway's secret, so signed notices reach workflows), on the test
// file's own database. The worker's gateway client picks faults per order (X-Sim-Fault), so a test
// faults exactly the order it is about and nothing else (the loan's disbursement, the payouts after
// a collection); a "refuse" sends that one call to a closed port: a real ECONNREFUSED, never sent.
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { buildApp } from '../../api/app';
import { GatewayClient, type QueryRequest, type SubmitRequest } from '../../gateway/client';
import type { QueryOutcome, SubmitOutcome } from '../../gateway/outcomes';
import { signNotification, unixSeconds } from '../../gateway/signing';
import type { RunningSimulator } from '../../gateway/simulator/server';
import { formatWireAmount } from '../../ledger/money';
import { OutboxDispatcher } from '../../worker/outbox-dispatcher';
import { ADMIN_KEY } from '../api/helpers';
import {
  CLIENT_TIMEOUT_MS,
  MERCHANT_ID,
  SECRET,
  startTestSimulator,
  tempDir,
} from '../gateway/helpers';
import { useTestDatabase, type TestDatabase } from '../helpers/postgres';
import { createWorker, fundInvestor } from '../helpers/stack';
import { createInvestor, startWithdrawalPayout } from '../helpers/withdrawals';
import { createDevServerEnv } from '../helpers/temporal';
import { workflowIds } from '../../ids/workflow-ids';
import { recoveryWorkflow } from '../../workflows';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import {
  reviewEvidenceQuery,
  type QueryPolicy,
  type ReviewEvidence,
} from '../../workflows/contracts/gateway-order';
import { recoveryStateQuery } from '../../workflows/contracts/recovery';
import { operatorHeaders } from '../api/helpers';
import { approveHeld } from '../helpers/approvals';
import { until } from '../repayments/helpers';

export interface GatewayCall {
  op: 'submit' | 'query';
  orderNo: string;
  /**
   * The submit's memo (e.g. `scheduled <payoutId>`); for a query, the memo its order was submitted
   * with.
   */
  memo?: string;
}

/** A fault for one call: an X-Sim-Fault value, or 'refuse' (connection refused: not sent). */
export type CallFault = string | undefined;

/** A gateway client that asks `rule` what each call should meet, and keeps a log of every call. */
export class FaultingGateway extends GatewayClient {
  readonly calls: GatewayCall[] = [];
  rule: (call: GatewayCall) => CallFault = () => undefined;
  private readonly memos = new Map<string, string>();
  private readonly closedPort: GatewayClient;

  constructor(url: string) {
    const options = {
      baseUrl: url,
      merchantId: MERCHANT_ID,
      secret: SECRET,
      connectTimeoutMs: 200,
      requestTimeoutMs: CLIENT_TIMEOUT_MS,
    };
    super(options);
    // discard port: nothing listens
    this.closedPort = new GatewayClient({ ...options, baseUrl: 'http://127.0.0.1:9' });
  }

  override payout(request: SubmitRequest): Promise<SubmitOutcome> {
    return this.submitWith(
      request,
      (r) => super.payout(r),
      (r) => this.closedPort.payout(r),
    );
  }

  override collect(request: SubmitRequest): Promise<SubmitOutcome> {
    return this.submitWith(
      request,
      (r) => super.collect(r),
      (r) => this.closedPort.collect(r),
    );
  }

  override query(request: QueryRequest): Promise<QueryOutcome> {
    const call: GatewayCall = {
      op: 'query',
      orderNo: request.orderNo,
      memo: this.memos.get(request.orderNo),
    };
    this.calls.push(call);
    const fault = this.rule(call);
    if (fault === 'refuse') return this.closedPort.query(request);
    return super.query({ ...request, ...(fault ? { simFault: fault } : {}) });
  }

  /** Every call for one order number. */
  callsFor(orderNo: string): GatewayCall[] {
    return this.calls.filter((c) => c.orderNo === orderNo);
  }

  private submitWith(
    request: SubmitRequest,
    real: (r: SubmitRequest) => Promise<SubmitOutcome>,
    refused: (r: SubmitRequest) => Promise<SubmitOutcome>,
  ): Promise<SubmitOutcome> {
    if (request.memo) this.memos.set(request.orderNo, request.memo);
    const call: GatewayCall = { op: 'submit', orderNo: request.orderNo, memo: request.memo };
    this.calls.push(call);
    const fault = this.rule(call);
    if (fault === 'refuse') return refused(request);
    return real({ ...request, ...(fault ? { simFault: fault } : {}) });
  }
}

export interface OutcomeWorld {
  db: TestDatabase;
  readonly env: TestWorkflowEnvironment;
  readonly simulator: RunningSimulator;
  readonly gateway: FaultingGateway;
  readonly app: FastifyInstance;
  readonly dispatcher: OutboxDispatcher;
  /** The API on a real port, for the CLI. */
  readonly apiUrl: string;
}

/**
 * Call at the top level of a test file. The API and the worker stop before the database's pool
 * closes.
 */
export function useOutcomeWorld(
  options: { poolSize?: number; paidApprovalAboveMinor?: bigint } = {},
): OutcomeWorld {
  const dir = tempDir();
  let env: TestWorkflowEnvironment | undefined;
  let simulator: RunningSimulator | undefined;
  let gateway: FaultingGateway | undefined;
  let app: FastifyInstance | undefined;
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  let dispatcher: OutboxDispatcher | undefined;
  let apiUrl = '';
  afterAll(async () => {
    await app?.close();
    worker?.shutdown();
    await workerRun;
    await env?.teardown();
    await simulator?.close();
    dir.remove();
  });
  const db = useTestDatabase(options);
  beforeAll(async () => {
    simulator = await startTestSimulator({ dataDir: dir.path });
    env = await createDevServerEnv();
    gateway = new FaultingGateway(simulator.url);
    worker = await createWorker(env, db, gateway);
    workerRun = worker.run();
    app = await buildApp({
      pool: db.pool,
      adminApiKey: ADMIN_KEY,
      temporal: env.client,
      gatewaySecret: SECRET,
      paidApprovalAboveMinor: options.paidApprovalAboveMinor,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    apiUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    dispatcher = new OutboxDispatcher(db.pool, env.client);
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the outcome world is ready only inside tests');
    return value;
  };
  return {
    db,
    get env() {
      return ready(env);
    },
    get simulator() {
      return ready(simulator);
    },
    get gateway() {
      return ready(gateway);
    },
    get app() {
      return ready(app);
    },
    get dispatcher() {
      return ready(dispatcher);
    },
    get apiUrl() {
      return apiUrl;
    },
  };
}

export { approveHeld };

export const admin = { authorization: `Bearer ${ADMIN_KEY}` };

export { operatorHeaders };

/**
 * The gateway's signed notice for an order, as the simulator would send it, POSTed to our API.
 * The amount and currency are the order's own (read from `amountOf`), so it passes verification.
 */
export async function postNotice(
  app: FastifyInstance,
  n: {
    orderNo: string;
    kind: 'PAYOUT' | 'COLLECTION';
    amountMinor: bigint;
    status: 'SUCCESS' | 'FAILED';
    code?: string;
    notifyId?: string;
  },
) {
  const body = {
    notifyId:
      n.notifyId ?? `nt-${n.orderNo.slice(0, 20)}-${Math.random().toString(36).slice(2, 10)}`,
    orderNo: n.orderNo,
    kind: n.kind,
    status: n.status,
    ...(n.code ? { code: n.code } : {}),
    amount: formatWireAmount(n.amountMinor, 'CNY'),
    currency: 'CNY',
    gatewayTradeNo: `gt-${n.orderNo.slice(0, 40)}`,
    eventSeq: 2,
    eventTime: new Date().toISOString(),
  };
  const raw = JSON.stringify(body);
  const timestamp = unixSeconds(Date.now());
  const res = await app.inject({
    method: 'POST',
    url: '/v1/gateway/notifications',
    payload: raw,
    headers: {
      'content-type': 'application/json',
      'x-gateway-timestamp': timestamp,
      'x-gateway-signature': signNotification(SECRET, timestamp, raw),
    },
  });
  return { notifyId: body.notifyId, statusCode: res.statusCode, body: res.body };
}

export { runOpsAt as ops } from '../helpers/ops';

/**
 * The ledger equals the gateway's truth, for every kind of order: each payout the gateway executed
 * is posted once, each collection (deposit, repayment, recovery) credited once, and nothing else.
 */
export async function expectLedgerEqualsTruth(
  pool: Pool,
  simulator: RunningSimulator,
): Promise<void> {
  const executed = (kind: string) =>
    simulator
      .truth()
      .filter((o) => o.kind === kind && o.status === 'SUCCESS')
      .map((o) => `${o.orderNo}:${o.amountMinor}`)
      .sort();
  const { rows: paid } = await pool.query(
    `SELECT p.order_no || ':' || p.amount_minor AS k FROM ledger_transactions t JOIN payouts p ON p.id = t.metadata->>'payoutId'
     WHERE t.idempotency_key LIKE 'payout:%:post' ORDER BY 1`,
  );
  expect(paid.map((r) => r.k)).toEqual(executed('PAYOUT'));
  const { rows: collected } = await pool.query(
    `SELECT t.metadata->>'orderNo' || ':' || sum(e.amount) AS k FROM ledger_transactions t JOIN ledger_postings e ON e.transaction_id = t.id AND e.direction = 'D'
     WHERE t.idempotency_key LIKE 'deposit:%:credit' OR t.idempotency_key LIKE 'repayment:%:collect:%' OR t.idempotency_key LIKE 'recovery:%:collect:%'
     GROUP BY t.id, t.metadata ORDER BY 1`,
  );
  expect(collected.map((r) => r.k)).toEqual(executed('COLLECTION'));
}

/** Polls until a condition holds (bounded): the one the repayment tests use. */
export { until };

/**
 * A recovery opened by hand through the API, its workflow started here with a short query policy
 * instead of by the dispatcher (the outbox row is dropped); returns once it is OFFSETTING.
 */
export async function openRecoveryByHand(
  world: OutcomeWorld,
  r: {
    investorId: string;
    amount: string;
    reason: string;
    idempotencyKey: string;
    queryPolicy: QueryPolicy;
  },
) {
  const opened = await world.app.inject({
    method: 'POST',
    url: '/v1/recoveries',
    headers: { ...(await operatorHeaders(world.app)), 'idempotency-key': r.idempotencyKey },
    payload: { investorId: r.investorId, amount: r.amount, reason: r.reason },
  });
  // Opened once a second operator approves it.
  const recoveryId = (await approveHeld<{ id: string }>(world.app, opened)).id;
  const workflowId = workflowIds.recovery(recoveryId);
  await world.db.pool.query('DELETE FROM outbox WHERE workflow_id = $1', [workflowId]);
  const wf = await world.env.client.workflow.start(recoveryWorkflow, {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [{ recoveryId, investorId: r.investorId, queryPolicy: r.queryPolicy }],
  });
  await until(
    () => wf.query(recoveryStateQuery),
    (x) => x === 'OFFSETTING',
  );
  return { recoveryId, workflowId, wf };
}

/**
 * From now on the gateway executes the orders whose memo `match` picks but answers their submit
 * 500, and every query 503: only a notice or an operator can tell.
 */
export function executedButUnknown(
  world: OutcomeWorld,
  match: (memo: string | undefined) => boolean,
): void {
  world.gateway.rule = (call) =>
    !match(call.memo)
      ? undefined
      : call.op === 'submit'
        ? 'error-5xx-after-execute'
        : 'error-5xx-before-execute';
}

/** Waits (up to 60 s) until a gateway-order workflow is in MANUAL_REVIEW: its evidence. */
export function untilReview(world: OutcomeWorld, workflowId: string): Promise<ReviewEvidence> {
  return until(
    () =>
      world.env.client.workflow
        .getHandle(workflowId)
        .query(reviewEvidenceQuery)
        .catch(() => undefined),
    (e) => e?.state === 'MANUAL_REVIEW',
    60_000,
  ) as Promise<ReviewEvidence>;
}

/**
 * A new investor (with the test bank account, funded with 1,000,000 minor units) whose withdrawal
 * `id` the gateway executed but answered 500, every query 503: its Payout workflow (short query
 * policy) in MANUAL_REVIEW, and the evidence.
 */
export async function withdrawalInReview(
  world: OutcomeWorld,
  investor: { id: string; name: string; key: string },
  id: string,
  amountMinor: bigint,
) {
  await createInvestor(world.app, investor);
  await fundInvestor(world.db, investor.id, 1_000_000n);
  executedButUnknown(world, (memo) => memo === `withdrawal ${id}`);
  const wf = await startWithdrawalPayout(world.env.client, world.db.pool, {
    id,
    investorId: investor.id,
    amountMinor,
    queryPolicy: { attempts: 2, initialIntervalMs: 200, maxIntervalMs: 400 },
  });
  const evidence = await untilReview(world, wf.workflowId);
  return { wf, evidence };
}
