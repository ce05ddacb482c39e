// Issue 15, item 12(c): an audit row is written once per event, however often the work that writes
// it runs. An operator's decision on a payout in MANUAL_REVIEW is posted by an activity that is
// retried when its reply is lost after its transaction committed (here: a worker interceptor fails
// the first attempt after it ran, as a crash between commit and reply would); the decision's audit
// row is there once. Real Temporal dev server, real gateway simulator, real Postgres.
import { parseFault } from '../../gateway/simulator/faults';
import { Ledger } from '../../ledger';
import { readAudit, writeAudit } from '../../db/audit';
import { payoutWorkflow } from '../../workflows';
import { TASK_QUEUE } from '../../workflows/contracts/common';
import { untilEvidence } from '../helpers/gateway-world';
import { loseFirstReply, useLostReplyWorker } from '../helpers/lost-reply';
import { createWithdrawalPayout } from '../helpers/withdrawals';
import { fundInvestor } from '../helpers/stack';
import { expectLedgerConsistent } from '../ledger/helpers';
import { resolveReview } from '../helpers/decisions';

/**
 * postPayout with an operator's decision (its second argument) loses its first reply after
 * committing.
 */
const replies = loseFirstReply((type, args) => type === 'postPayout' && args[1] !== undefined);

const world = useLostReplyWorker(replies, { requestTimeoutMs: 300 });
const { db } = world;

beforeAll(async () => {
  await db.pool.query(`INSERT INTO parties (id, kind, name) VALUES ('aud', 'investor', 'Aud')`);
  await new Ledger(db.pool).createAccount({ path: 'investor:aud:available', currency: 'CNY' });
  await fundInvestor(db, 'aud', 1_000_000n);
});

afterEach(() => expectLedgerConsistent(db.pool));

const auditRows = async (subject: string) =>
  (await readAudit(db.pool, undefined, 100)).filter((r) => r.subject === subject);

it('writes an audited decision once when its activity is retried after it committed', async () => {
  await createWithdrawalPayout(db.pool, 'aud-1', 'aud', 5_000n);
  world.simulator.setFaultRates([
    { spec: 'error-5xx-after-execute', fault: parseFault('error-5xx-after-execute'), rate: 1 },
  ]);
  const handle = await world.env.client.workflow.start(payoutWorkflow, {
    workflowId: 'payout-aud-1',
    taskQueue: TASK_QUEUE,
    args: [
      {
        payoutId: 'aud-1',
        partyId: 'aud',
        queryPolicy: { attempts: 2, initialIntervalMs: 500, maxIntervalMs: 500 },
      },
    ],
  });
  await untilEvidence(handle, (e) => e.attempts.length >= 1);
  await world.simulator.startOutage('503');
  await untilEvidence(handle, (e) => e.state === 'MANUAL_REVIEW');
  await expect(
    resolveReview(db.pool, handle, {
      decision: 'paid',
      reason: 'bank confirms the credit',
      operator: 'op-9',
      requestId: 'req-1',
    }),
  ).resolves.toBe('SUCCEEDED');
  await world.simulator.endOutage();
  world.simulator.setFaultRates([]);

  expect(replies.lost).toEqual(['payout-aud-1']); // the activity did run twice
  const rows = await auditRows('payout-aud-1');
  expect(rows.map((r) => ({ action: r.action, actor: r.actor, requestId: r.requestId }))).toEqual([
    { action: 'review.resolved', actor: 'operator:op-9', requestId: 'req-1' },
    { action: 'decision.recorded', actor: 'operator:op-9', requestId: 'req-1' }, // newest first
  ]);
}, 60_000);

it('keeps one row for one idempotency key, and writes rows without a key as before', async () => {
  const entry = {
    actor: 'operator:k1',
    action: 'recovery.written_off',
    subject: 'rc-x',
    reason: 'gone',
    requestId: 'req-9',
  };
  expect(await writeAudit(db.pool, { ...entry, idempotencyKey: 'recovery.written_off:rc-x' })).toBe(
    true,
  );
  expect(await writeAudit(db.pool, { ...entry, idempotencyKey: 'recovery.written_off:rc-x' })).toBe(
    false,
  );
  // the key as a parameter: the same key
  expect(await writeAudit(db.pool, entry, 'recovery.written_off:rc-x')).toBe(false);
  expect(await auditRows('rc-x')).toHaveLength(1);
  await writeAudit(db.pool, { ...entry, subject: 'rc-y' });
  await writeAudit(db.pool, { ...entry, subject: 'rc-y' });
  expect(await auditRows('rc-y')).toHaveLength(2);
});
