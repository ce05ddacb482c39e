// DESIGN.md's gateway outcome table, row by row, for every kind of gateway order: payouts,
// deposits, repayment collections and recovery collections, each through its own workflow on a
// real Temporal dev server, the real gateway simulator (faults per order, X-Sim-Fault) and the
// API. After every row the ledger equals the gateway's truth: what it executed is booked once.
import { putVerifiedAccountOnFile } from '../helpers/bank-accounts';
import { approveHeld } from '../helpers/approvals';
import { WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { Ledger } from '../../ledger';
import { createDeposit } from '../../payments/deposits';
import { createPayout } from '../../payments/payouts';
import {
  depositWorkflow,
  payoutWorkflow,
  recoveryWorkflow,
  repaymentWorkflow,
} from '../../workflows';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import {
  reviewEvidenceQuery,
  type QueryPolicy,
  type ReviewEvidence,
} from '../../workflows/contracts/gateway-order';
import { recoveryStateQuery, requestCollectionUpdate } from '../../workflows/contracts/recovery';
import { repaymentStateQuery } from '../../workflows/contracts/repayment';
import { ACCOUNT } from '../gateway/helpers';
import { drainOutbox, fundInvestor, maybeRecordHistory } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import { openAndFillLoan } from '../repayments/helpers';
import {
  admin,
  expectLedgerEqualsTruth,
  operatorHeaders,
  postNotice,
  until,
  useOutcomeWorld,
  type CallFault,
  type GatewayCall,
} from './helpers';
import { recorded, collectNow } from '../helpers/decisions';
import { workflowIds } from '../../ids/workflow-ids';
import { accountOnFile } from '../helpers/bank-accounts';

const world = useOutcomeWorld({ poolSize: 20 });
const { db } = world;
const FAST: QueryPolicy = { attempts: 2, initialIntervalMs: 200, maxIntervalMs: 400 };

beforeAll(async () => {
  await world.app.inject({
    method: 'POST',
    url: '/v1/investors',
    headers: { ...admin, 'idempotency-key': 'ot-inv' },
    payload: { id: 'otp', name: 'Otto' },
  });
  await fundInvestor(db, 'otp', 10_000_000n);
});

afterEach(async () => {
  world.gateway.rule = () => undefined;
  await expectLedgerConsistent(db.pool);
  await expectLedgerEqualsTruth(db.pool, world.simulator);
});

/** One gateway order of some kind, prepared (nothing sent yet). */
interface Order {
  workflowId: string;
  /**
   * The memo the order is submitted with (its purpose and order number): how the gateway rule
   * recognises its calls.
   */
  memo: string;
  gatewayKind: 'PAYOUT' | 'COLLECTION';
  /** Starts the workflow's gateway part. */
  go(): Promise<void>;
  /** Waits for the order's end and checks its money moved (paid) or not (not_paid), once. */
  outcome(): Promise<'paid' | 'not_paid'>;
}

interface Kind {
  name: 'payout' | 'deposit' | 'repayment' | 'recovery';
  prepare(tag: string): Promise<Order>;
}

const handle = (workflowId: string) => world.env.client.workflow.getHandle(workflowId);
const ledgerKeys = async (pattern: string) =>
  (
    await db.pool.query<{ k: string }>(
      'SELECT idempotency_key AS k FROM ledger_transactions WHERE idempotency_key LIKE $1 ORDER BY 1',
      [pattern],
    )
  ).rows.map((r) => r.k);

const KINDS: Kind[] = [
  {
    name: 'payout',
    async prepare(tag) {
      const id = `otpo-${tag}`;
      const amountMinor = 1_000n;
      await createPayout(db.pool, {
        id,
        purpose: 'withdrawal',
        partyId: 'otp',
        sourceAccount: 'investor:otp:available',
        amountMinor,
        currency: 'CNY',
        bankAccountId: await accountOnFile(db.pool, 'otp', ACCOUNT),
      });
      await db.pool.query('DELETE FROM outbox WHERE workflow_id = $1', [workflowIds.payout(id)]);
      let wf: WorkflowHandle<typeof payoutWorkflow> | undefined;
      return {
        workflowId: workflowIds.payout(id),
        memo: `withdrawal ${id}`,
        gatewayKind: 'PAYOUT',
        async go() {
          wf = await world.env.client.workflow.start(payoutWorkflow, {
            workflowId: workflowIds.payout(id),
            taskQueue: TASK_QUEUE,
            args: [{ payoutId: id, partyId: 'otp', queryPolicy: FAST }],
          });
        },
        async outcome() {
          const state = await (wf as WorkflowHandle<typeof payoutWorkflow>).result();
          const paid = state === 'SUCCEEDED';
          expect(await ledgerKeys(`payout:${id}:%`)).toEqual([
            `payout:${id}:hold`,
            `payout:${id}:${paid ? 'post' : 'void'}`,
          ]);
          expect((await new Ledger(db.pool).balance('investor:otp:available')).pendingDebits).toBe(
            0n,
          ); // nothing left held
          return paid ? 'paid' : 'not_paid';
        },
      };
    },
  },
  {
    name: 'deposit',
    async prepare(tag) {
      const id = `otdep-${tag}`;
      const amountMinor = 2_000n;
      await createDeposit(db.pool, {
        id,
        investorId: 'otp',
        amountMinor,
        currency: 'CNY',
        bankAccountId: await accountOnFile(db.pool, 'otp', ACCOUNT),
      });
      await db.pool.query('DELETE FROM outbox WHERE workflow_id = $1', [workflowIds.deposit(id)]);
      let wf: WorkflowHandle<typeof depositWorkflow> | undefined;
      return {
        workflowId: workflowIds.deposit(id),
        memo: `deposit ${id}`,
        gatewayKind: 'COLLECTION',
        async go() {
          wf = await world.env.client.workflow.start(depositWorkflow, {
            workflowId: workflowIds.deposit(id),
            taskQueue: TASK_QUEUE,
            args: [{ depositId: id, investorId: 'otp', queryPolicy: FAST }],
          });
        },
        async outcome() {
          const state = await (wf as WorkflowHandle<typeof depositWorkflow>).result();
          const paid = state === 'SUCCEEDED';
          expect(await ledgerKeys(`deposit:${id}:%`)).toEqual(paid ? [`deposit:${id}:credit`] : []);
          const { rows } = await db.pool.query('SELECT status FROM deposits WHERE id = $1', [id]);
          expect(rows[0].status).toBe(state);
          return paid ? 'paid' : 'not_paid';
        },
      };
    },
  },
  {
    name: 'repayment',
    async prepare(tag) {
      // A loan REPAYING with its first installment due in an hour; the test collects it now.
      const loanId = `otl${tag}`;
      await openAndFillLoan(world.app, db, {
        id: loanId,
        holdings: [100_000n],
        termMonths: 1,
        repaymentMethod: 'equal_principal',
        intervalSeconds: 3_600,
      });
      await drainOutbox(world.dispatcher, db);
      await until(
        () =>
          handle(`payout-disb-${loanId}`)
            .result()
            .catch(() => 'NOT_YET'),
        (s) => s === 'SUCCEEDED',
        60_000,
      );
      const workflowId = workflowIds.repayment(loanId, 1);
      return {
        workflowId,
        memo: `repayment rp-${loanId}-1-1`,
        gatewayKind: 'COLLECTION',
        async go() {
          const wf = await world.env.client.workflow.start(repaymentWorkflow, {
            workflowId,
            taskQueue: TASK_QUEUE,
            args: [{ loanId, installment: 1, queryPolicy: FAST }],
          });
          await collectNow(db.pool, wf);
        },
        async outcome() {
          const { rows } = await until(
            () =>
              db.pool.query(
                'SELECT order_no, status FROM repayment_collections WHERE loan_id = $1 AND attempt = 1',
                [loanId],
              ),
            (r) => r.rows[0]?.status === 'SUCCEEDED' || r.rows[0]?.status === 'FAILED',
          );
          const paid = rows[0].status === 'SUCCEEDED';
          expect(await ledgerKeys(`repayment:${loanId}:1:collect:%`)).toEqual(
            paid ? [`repayment:${loanId}:1:collect:1`] : [],
          );
          if (paid)
            // and its payouts are settled before the ledger check
            expect(await handle(workflowId).result()).toBe('PAID_OUT');
          else
            expect(
              await until(
                () => handle(workflowId).query(repaymentStateQuery),
                (s) => s === 'DUE',
              ),
            ).toBe('DUE'); // tried again later, by a new attempt
          return paid ? 'paid' : 'not_paid';
        },
      };
    },
  },
  {
    name: 'recovery',
    async prepare(tag) {
      const investorId = `otr-${tag}`;
      await world.app.inject({
        method: 'POST',
        url: '/v1/investors',
        headers: { ...admin, 'idempotency-key': `inv-${investorId}` },
        payload: { id: investorId, name: 'Rita' },
      });
      // where the collection is taken from: a verified account on file
      await putVerifiedAccountOnFile(db.pool, investorId, ACCOUNT);
      const opened = await world.app.inject({
        method: 'POST',
        url: '/v1/recoveries',
        headers: { ...(await operatorHeaders(world.app)), 'idempotency-key': `rc-${tag}` },
        payload: { investorId, amount: '30.00', reason: 'interest paid twice' },
      });
      const recoveryId = (await approveHeld<{ id: string }>(world.app, opened)).id;
      const workflowId = workflowIds.recovery(recoveryId);
      // Started here with a short query policy instead of by the dispatcher.
      await db.pool.query('DELETE FROM outbox WHERE workflow_id = $1', [workflowId]);
      const wf = await world.env.client.workflow.start(recoveryWorkflow, {
        workflowId,
        taskQueue: TASK_QUEUE,
        args: [{ recoveryId, investorId, queryPolicy: FAST }],
      });
      await until(
        () => wf.query(recoveryStateQuery),
        (s) => s === 'OFFSETTING',
      );
      let requested: Promise<string> | undefined;
      return {
        workflowId,
        memo: `recovery rq-${recoveryId}-1`,
        gatewayKind: 'COLLECTION',
        async go() {
          const update = await wf.startUpdate(requestCollectionUpdate, {
            args: [
              await recorded(
                db.pool,
                wf.workflowId,
                'recovery.request_collection',
                {},
                'asked by phone',
              ),
            ],
            waitForStage: WorkflowUpdateStage.ACCEPTED,
          });
          requested = update.result();
        },
        async outcome() {
          const state = await (requested as Promise<string>);
          const paid = state === 'RECOVERED';
          expect(await ledgerKeys(`recovery:${recoveryId}:collect:%`)).toHaveLength(paid ? 1 : 0);
          const { rows } = await db.pool.query('SELECT state FROM recoveries WHERE id = $1', [
            recoveryId,
          ]);
          // not collected: offsets go on
          expect(rows[0].state).toBe(paid ? 'RECOVERED' : 'OFFSETTING');
          if (paid) expect(await wf.result()).toBe('RECOVERED');
          return paid ? 'paid' : 'not_paid';
        },
      };
    },
  },
];

/**
 * Faults for one order's calls: `submit` per submit call in turn (the last repeats), `query` for
 * every query.
 */
function faultOrder(memo: string, faults: { submit?: CallFault[]; query?: CallFault }): void {
  let submits = 0;
  world.gateway.rule = (call: GatewayCall) => {
    if (call.memo !== memo) return undefined;
    if (call.op === 'query') return faults.query;
    const list = faults.submit ?? [];
    return list[Math.min(submits++, list.length - 1)];
  };
}

const callsOf = (memo: string) => world.gateway.calls.filter((c) => c.memo === memo);
const truthOf = (memo: string) => world.simulator.truth().filter((o) => o.memo === memo);

async function untilReview(workflowId: string): Promise<ReviewEvidence> {
  return until(
    () =>
      handle(workflowId)
        .query(reviewEvidenceQuery)
        .catch(() => undefined),
    (e) => e?.state === 'MANUAL_REVIEW',
    60_000,
  ) as Promise<ReviewEvidence>;
}

/** The amount of our order, as the row that created it says (the notice must match it exactly). */
async function amountOf(orderNo: string): Promise<bigint> {
  const { rows } = await db.pool.query<{ a: string }>(
    `SELECT amount_minor::text AS a FROM payouts WHERE order_no = $1 UNION ALL SELECT amount_minor::text FROM deposits WHERE order_no = $1
     UNION ALL SELECT amount_minor::text FROM repayment_collections WHERE order_no = $1 UNION ALL SELECT amount_minor::text FROM recovery_collections WHERE order_no = $1`,
    [orderNo],
  );
  expect(rows).toHaveLength(1);
  return BigInt(rows[0].a);
}

let tags = 0;
const nextTag = () => `${++tags}${Date.now().toString(36).slice(-4)}`;

describe.each(KINDS.map((k) => [k.name, k] as const))('%s', (_name, kind) => {
  it("review: an operator's not_paid through the API is accepted, nothing was executed, nothing is booked", async () => {
    const order = await kind.prepare(nextTag());
    // Not executed, and every answer unknown: a 503 before the gateway recorded anything, queries
    // 503 too.
    faultOrder(order.memo, {
      submit: ['error-5xx-before-execute'],
      query: 'error-5xx-before-execute',
    });
    await order.go();
    const evidence = await untilReview(order.workflowId);
    expect(evidence.attempts.map((a) => `${a.action}:${a.outcome.kind}`)).toEqual([
      'submit:unknown',
      'query:unknown',
      'query:unknown',
    ]);
    const operator = await operatorHeaders(world.app);
    const listed = (
      await world.app.inject({ method: 'GET', url: '/v1/reviews', headers: operator })
    ).json<{ workflowId: string }[]>();
    expect(listed.map((r) => r.workflowId)).toContain(order.workflowId);
    const resolved = await world.app.inject({
      method: 'POST',
      url: `/v1/reviews/${order.workflowId}/resolve`,
      headers: operator,
      payload: { decision: 'not_paid', reason: 'the bank has no such transfer' },
    });
    expect(resolved.statusCode).toBe(200);
    expect(await order.outcome()).toBe('not_paid');
    expect(truthOf(order.memo)).toEqual([]);
    const { rows: audit } = await db.pool.query(
      `SELECT actor, reason, details FROM audit_log WHERE action = 'review.resolved' AND subject = $1`,
      [order.workflowId],
    );
    expect(audit).toEqual([
      {
        actor: expect.stringMatching(/^operator:/),
        reason: 'the bank has no such transfer',
        details: expect.objectContaining({ decision: 'not_paid' }),
      },
    ]);
  }, 120_000);

  const resubmits = kind.name === 'payout' || kind.name === 'deposit';
  it(
    resubmits
      ? 'review: not_paid with resubmit sends the same order number again (nothing released meanwhile), executed once'
      : 'review: not_paid with resubmit is refused (a new attempt gets its own order number); plain not_paid is accepted',
    async () => {
      const order = await kind.prepare(nextTag());
      // The first submit never reached the bank (a 503 before anything was recorded); the one after
      // the decision does.
      faultOrder(order.memo, {
        submit: ['error-5xx-before-execute', undefined],
        query: 'error-5xx-before-execute',
      });
      await order.go();
      const evidence = await untilReview(order.workflowId);
      const operator = await operatorHeaders(world.app);
      const resolve = (payload: object) =>
        world.app.inject({
          method: 'POST',
          url: `/v1/reviews/${order.workflowId}/resolve`,
          headers: operator,
          payload,
        });
      if (!resubmits) {
        const refused = await resolve({
          decision: 'not_paid',
          reason: 'try again',
          resubmit: true,
        });
        expect(refused.statusCode).toBe(409);
        expect(refused.json().error.message).toMatch(/not re-submitted/);
        expect(
          (await resolve({ decision: 'not_paid', reason: 'the bank has no such transfer' }))
            .statusCode,
        ).toBe(200);
        expect(await order.outcome()).toBe('not_paid');
        return;
      }
      expect(
        (await resolve({ decision: 'paid', reason: 'wrong', resubmit: true })).statusCode,
      ).toBe(409); // resubmit only with not_paid
      const resolved = await resolve({
        decision: 'not_paid',
        reason: 'the bank never got it: send it again',
        resubmit: true,
      });
      expect(resolved.json()).toMatchObject({ state: 'SUBMITTED' });
      expect(await order.outcome()).toBe('paid');
      const after = await handle(order.workflowId).query(reviewEvidenceQuery);
      expect(after.attempts.map((a) => `${a.action}:${a.outcome.kind}`)).toEqual([
        'submit:unknown',
        'query:unknown',
        'query:unknown',
        'submit:succeeded',
      ]);
      const submits = callsOf(order.memo).filter((c) => c.op === 'submit');
      expect(submits.map((c) => c.orderNo)).toEqual([evidence.orderNo, evidence.orderNo]);
      expect(truthOf(order.memo).map((o) => [o.orderNo, o.status])).toEqual([
        [evidence.orderNo, 'SUCCESS'],
      ]);
      const { rows: audit } = await db.pool.query(
        `SELECT actor, details FROM audit_log WHERE action = 'review.resolved' AND subject = $1`,
        [order.workflowId],
      );
      expect(audit).toEqual([
        {
          actor: expect.stringMatching(/^operator:/),
          details: { decision: 'not_paid', resubmit: true },
        },
      ]);
      await maybeRecordHistory(handle(order.workflowId), `${kind.name}Workflow-resubmitted`);
    },
    120_000,
  );

  it('not sent (connection refused): the same request is sent again, same order number, executed once', async () => {
    const order = await kind.prepare(nextTag());
    faultOrder(order.memo, { submit: ['refuse', undefined] });
    await order.go();
    expect(await order.outcome()).toBe('paid');
    const evidence = await handle(order.workflowId).query(reviewEvidenceQuery);
    expect(evidence.attempts.map((a) => `${a.action}:${a.outcome.kind}`)).toEqual([
      'submit:not_sent',
      'submit:succeeded',
    ]);
    const submits = callsOf(order.memo).filter((c) => c.op === 'submit');
    expect(submits.map((c) => c.orderNo)).toEqual([evidence.orderNo, evidence.orderNo]);
    expect(truthOf(order.memo).map((o) => [o.orderNo, o.status])).toEqual([
      [evidence.orderNo, 'SUCCESS'],
    ]); // one order at the gateway
  }, 120_000);

  // The rest of the table, row by row, for this kind too.
  it.each([
    ['success: posted once', [undefined], undefined, 'paid', ['submit:succeeded'], ['SUCCESS']],
    [
      'a listed definitive failure: not executed, released',
      ['fail:INSUFFICIENT_FUNDS'],
      undefined,
      'not_paid',
      ['submit:failed'],
      ['FAILED'],
    ],
    [
      'unknown (executed, answered 500), then a query finds it executed: posted once, never resent',
      ['error-5xx-after-execute'],
      undefined,
      'paid',
      ['submit:unknown', 'query:succeeded'],
      ['SUCCESS'],
    ],
    [
      'unknown (a 503 before anything was recorded), then the gateway has no such order: released, never resent',
      ['error-5xx-before-execute'],
      undefined,
      'not_paid',
      ['submit:unknown', 'query:not_found'],
      [],
    ],
  ] as const)(
    '%s',
    async (_row, submit, query, outcome, attempts, truth) => {
      const order = await kind.prepare(nextTag());
      faultOrder(order.memo, { submit: [...submit], query });
      await order.go();
      expect(await order.outcome()).toBe(outcome);
      const evidence = await handle(order.workflowId).query(reviewEvidenceQuery);
      expect(
        evidence.attempts.slice(0, attempts.length).map((a) => `${a.action}:${a.outcome.kind}`),
      ).toEqual(attempts);
      expect(
        callsOf(order.memo).filter((c) => c.op === 'submit' && c.orderNo === evidence.orderNo),
      ).toHaveLength(1);
      expect(truthOf(order.memo).map((o) => o.status)).toEqual(truth);
    },
    120_000,
  );

  it("review: an operator's paid through the API, for an order the gateway executed, is posted once", async () => {
    const order = await kind.prepare(nextTag());
    faultOrder(order.memo, {
      submit: ['error-5xx-after-execute'],
      query: 'error-5xx-before-execute',
    });
    await order.go();
    const evidence = await untilReview(order.workflowId);
    const resolved = await world.app.inject({
      method: 'POST',
      url: `/v1/reviews/${order.workflowId}/resolve`,
      headers: await operatorHeaders(world.app),
      payload: { decision: 'paid', reason: `the gateway shows ${evidence.orderNo} SUCCESS` },
    });
    expect(resolved.statusCode).toBe(200);
    expect(await order.outcome()).toBe('paid');
    expect(truthOf(order.memo).map((o) => [o.orderNo, o.status])).toEqual([
      [evidence.orderNo, 'SUCCESS'],
    ]);
  }, 120_000);

  it('unknown, then a query finds a definitive failure: not executed, released', async () => {
    const order = await kind.prepare(nextTag());
    faultOrder(order.memo, { submit: ['processing-then-fail:INSUFFICIENT_FUNDS'] });
    await order.go();
    expect(await order.outcome()).toBe('not_paid');
    const evidence = await handle(order.workflowId).query(reviewEvidenceQuery);
    expect(evidence.attempts[0]).toMatchObject({ action: 'submit', outcome: { kind: 'unknown' } });
    expect(evidence.attempts.at(-1)).toMatchObject({
      action: 'query',
      outcome: { kind: 'failed', code: 'INSUFFICIENT_FUNDS' },
    });
    expect(truthOf(order.memo).map((o) => o.status)).toEqual(['FAILED']);
  }, 120_000);

  it("review: a verified SUCCESS notice settles it by itself (decided by the gateway's notice), and a later not_paid is not accepted", async () => {
    const order = await kind.prepare(nextTag());
    // Executed, but the answer is a 500 and every query a 503: the worst case for a blind not_paid.
    faultOrder(order.memo, {
      submit: ['error-5xx-after-execute'],
      query: 'error-5xx-before-execute',
    });
    await order.go();
    const evidence = await untilReview(order.workflowId);
    const notice = await postNotice(world.app, {
      orderNo: evidence.orderNo,
      kind: order.gatewayKind,
      amountMinor: await amountOf(evidence.orderNo),
      status: 'SUCCESS',
    });
    expect(notice.statusCode).toBe(200);
    expect(await order.outcome()).toBe('paid');
    const after = await handle(order.workflowId).query(reviewEvidenceQuery);
    expect(after.attempts.at(-1)).toMatchObject({
      action: 'notice',
      outcome: { kind: 'succeeded' },
    });
    expect(after.notices).toEqual([
      expect.objectContaining({
        notifyId: notice.notifyId,
        orderNo: evidence.orderNo,
        outcome: 'succeeded',
      }),
    ]);
    const { rows: audit } = await db.pool.query(
      `SELECT actor, details FROM audit_log WHERE action = 'review.resolved' AND subject = $1`,
      [order.workflowId],
    );
    expect(audit).toEqual([
      {
        actor: `gateway:notice:${notice.notifyId}`,
        details: expect.objectContaining({ decision: 'paid', notifyId: notice.notifyId }),
      },
    ]);
    const refused = await world.app.inject({
      method: 'POST',
      url: `/v1/reviews/${order.workflowId}/resolve`,
      headers: await operatorHeaders(world.app),
      payload: { decision: 'not_paid', reason: 'nothing on the statement yet' },
    });
    // finished (404), or still leaving review (409): never accepted
    expect([404, 409]).toContain(refused.statusCode);
    expect(truthOf(order.memo).map((o) => o.status)).toEqual(['SUCCESS']);
    if (kind.name === 'deposit' || kind.name === 'repayment')
      await maybeRecordHistory(
        handle(order.workflowId),
        `${kind.name}Workflow-review-settled-by-notice`,
      );
  }, 120_000);

  it("review: while a verified SUCCESS notice is being settled, an operator's contradicting not_paid is refused (409), and it ends paid once", async () => {
    const order = await kind.prepare(nextTag());
    faultOrder(order.memo, {
      submit: ['error-5xx-after-execute'],
      query: 'error-5xx-before-execute',
    });
    await order.go();
    const evidence = await untilReview(order.workflowId);
    // Hold the order's row: the notice's settling effect waits on it, so the review stays open with
    // the notice in.
    const lock = await db.pool.connect();
    try {
      await lock.query('BEGIN');
      for (const table of [
        'payouts',
        'deposits',
        'repayment_collections',
        'recovery_collections',
      ]) {
        await lock.query(`SELECT 1 FROM ${table} WHERE order_no = $1 FOR UPDATE`, [
          evidence.orderNo,
        ]);
      }
      const notice = await postNotice(world.app, {
        orderNo: evidence.orderNo,
        kind: order.gatewayKind,
        amountMinor: await amountOf(evidence.orderNo),
        status: 'SUCCESS',
      });
      expect(notice.statusCode).toBe(200);
      await until(
        () => handle(order.workflowId).query(reviewEvidenceQuery),
        (e) => (e.notices ?? []).length === 1,
        30_000,
      );
      const refused = await world.app.inject({
        method: 'POST',
        url: `/v1/reviews/${order.workflowId}/resolve`,
        headers: await operatorHeaders(world.app),
        payload: { decision: 'not_paid', reason: 'nothing on the statement yet' },
      });
      expect({ status: refused.statusCode, message: refused.json().error?.message }).toEqual({
        status: 409,
        message: expect.stringContaining(notice.notifyId),
      });
      await lock.query('COMMIT');
    } finally {
      lock.release();
    }
    expect(await order.outcome()).toBe('paid');
    expect(truthOf(order.memo).map((o) => o.status)).toEqual(['SUCCESS']);
  }, 120_000);

  it('a verified SUCCESS notice for an order recorded FAILED (a listed failure) is an alert and a reconciliation exception at once', async () => {
    const order = await kind.prepare(nextTag());
    faultOrder(order.memo, { submit: ['fail:INSUFFICIENT_FUNDS'] });
    await order.go();
    expect(await order.outcome()).toBe('not_paid');
    const { orderNo } = await handle(order.workflowId).query(reviewEvidenceQuery);
    const contradictions = async () =>
      [
        ...(await world.app.inject({ method: 'GET', url: '/metrics' })).body.matchAll(
          /^gateway_notice_contradictions_total\{[^}]*\} (\d+)$/gm,
        ),
      ].reduce((total, m) => total + Number(m[1]), 0);
    const before = await contradictions();
    const notice = await postNotice(world.app, {
      orderNo,
      kind: order.gatewayKind,
      amountMinor: await amountOf(orderNo),
      status: 'SUCCESS',
    });
    expect(notice.statusCode).toBe(200);
    const { rows } = await db.pool.query(
      `SELECT class, status, detail->>'source' AS source, detail->>'recorded' AS recorded FROM recon_exceptions WHERE order_no = $1`,
      [orderNo],
    );
    expect(rows).toEqual([
      { class: 'STATUS_MISMATCH', status: 'OPEN', source: 'notice', recorded: 'FAILED' },
    ]);
    expect(await contradictions()).toBeGreaterThan(before);
  }, 120_000);

  it('review: a verified notice of a listed failure settles it as not paid', async () => {
    const order = await kind.prepare(nextTag());
    faultOrder(order.memo, {
      submit: ['error-5xx-before-execute'],
      query: 'error-5xx-before-execute',
    });
    await order.go();
    const evidence = await untilReview(order.workflowId);
    const notice = await postNotice(world.app, {
      orderNo: evidence.orderNo,
      kind: order.gatewayKind,
      amountMinor: await amountOf(evidence.orderNo),
      status: 'FAILED',
      code: 'ACCOUNT_FROZEN',
    });
    expect(notice.statusCode).toBe(200);
    expect(await order.outcome()).toBe('not_paid');
    const { rows: audit } = await db.pool.query(
      `SELECT actor FROM audit_log WHERE action = 'review.resolved' AND subject = $1`,
      [order.workflowId],
    );
    expect(audit).toEqual([{ actor: `gateway:notice:${notice.notifyId}` }]);
  }, 120_000);
});
