// The chaos suite's invariants must catch what they name: on a real schema and a real gateway
// simulator, each money invariant is shown a broken world and must report it (a check that
// cannot fail would let every seed pass).
import type { RunningSimulator } from '../../gateway/simulator/server';
import { Ledger } from '../../ledger';
import { INVARIANTS } from '../../chaos/invariants';
import type { RunState } from '../../chaos/world';
import { clientFor, startTestSimulator, tempDir, ACCOUNT } from '../gateway/helpers';
import { useTestDatabase } from '../helpers/postgres';
import { createRepayingLoan } from '../money-safety/fixtures';
import { openRecovery } from '../../payments/recoveries';

const dir = tempDir();
let simulator: RunningSimulator;
afterAll(async () => {
  await simulator?.close();
  dir.remove();
});
const db = useTestDatabase();
beforeAll(async () => {
  simulator = await startTestSimulator({ dataDir: dir.path });
});

const stateOf = (secondChannel = new Map<string, string>()) =>
  ({
    stack: { db: db.pool, simulator },
    secondChannel,
    decisions: [],
    alarms: [],
  }) as unknown as RunState;

it('holds on an empty world', async () => {
  for (const name of [
    'executed-once',
    'ledger-equals-gateway',
    'ledger-sound',
    'loans-exact',
    'recoveries-accounted',
    'decisions-audited',
  ]) {
    expect(await INVARIANTS[name](stateOf())).toEqual([]);
  }
});

it('reports an order the gateway executed that no platform intent made, unless chaos injected it', async () => {
  const res = await fetch(`${simulator.url}/_sim/executed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'PAYOUT', orderNo: 'stray-1', amount: '12.34', currency: 'CNY' }),
  });
  expect(res.ok).toBe(true);
  expect(await INVARIANTS['executed-once'](stateOf())).toEqual([
    expect.stringContaining('stray-1'),
  ]);
  expect(await INVARIANTS['executed-once'](stateOf(new Map([['stray-1', 'inv']])))).toEqual([]);
  // And the ledger never booked it: the order's money differs between the two.
  expect(await INVARIANTS['ledger-equals-gateway'](stateOf())).toEqual([
    expect.stringMatching(/order stray-1: the ledger moved 0, the gateway 1234/),
  ]);
});

it('reports money the ledger moved through the clearing account that the gateway never moved', async () => {
  const ledger = new Ledger(db.pool);
  await ledger.createAccount({ path: 'investor:tamper:available', currency: 'CNY' });
  await ledger.transfer({
    idempotencyKey: 'tamper:1',
    from: 'gateway:default:clearing',
    to: 'investor:tamper:available',
    amount: 500n,
    currency: 'CNY',
    metadata: { orderNo: 'never-sent-1' },
  });
  expect(await INVARIANTS['ledger-equals-gateway'](stateOf(new Map([['stray-1', 'inv']])))).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/order never-sent-1: the ledger moved -500, the gateway 0/),
    ]),
  );
});

it('reports an operator decision missing from the audit log', async () => {
  const state = stateOf();
  state.decisions.push({ kind: 'review', subject: 'payout-x', decision: 'paid', wrong: false });
  expect(await INVARIANTS['decisions-audited'](state)).toEqual([
    expect.stringContaining('payout-x'),
  ]);
});

it("counts the faults the gateway's submits met, for the suite's figures", async () => {
  const client = clientFor(simulator.url);
  await client.payout({
    orderNo: 'hits-1',
    amountMinor: 100n,
    currency: 'CNY',
    account: ACCOUNT,
    simFault: 'lie-failed,notify-late',
  });
  await client.payout({ orderNo: 'hits-2', amountMinor: 100n, currency: 'CNY', account: ACCOUNT });
  expect(simulator.faultHits()).toEqual({ 'lie-failed:SYSTEM_BUSY': 1, 'notify-late': 1 });
});

it('reports a process that ended by itself, and an API that answered 500', async () => {
  const apiSaid = [
    '[api] listening on http://127.0.0.1:1 (test)',
    '{"level":40,"msg":"database unavailable"}',
    '{"level":50,"err":{"message":"boom"},"msg":"unhandled error"}',
  ].join('\n');
  const stack = {
    unexpectedExits: [
      'worker exited by itself (exit code 1); it said last: Connection terminated unexpectedly',
    ],
    outputOf: (kind: string) => (kind === 'api' ? apiSaid : ''),
  };
  const state = { stack } as unknown as RunState;
  expect(await INVARIANTS['processes-survive'](state)).toEqual([
    expect.stringContaining('worker exited by itself'),
  ]);
  expect(await INVARIANTS['no-internal-errors'](state)).toEqual([
    expect.stringMatching(/answered 500 1 time\(s\).*boom/),
  ]);
  const calm = {
    stack: { unexpectedExits: [], outputOf: () => '{"level":40,"msg":"database unavailable"}' },
  } as unknown as RunState;
  expect(await INVARIANTS['processes-survive'](calm)).toEqual([]);
  expect(await INVARIANTS['no-internal-errors'](calm)).toEqual([]);
});

it('reports a user account below zero (the ledger and a CHECK refuse one, so both are set aside here, in this schema only)', async () => {
  const ledger = new Ledger(db.pool);
  await ledger.createAccount({ path: 'investor:sunk:available', currency: 'CNY' });
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    // triggers off, as only a broken world would have them
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query('ALTER TABLE ledger_balances DROP CONSTRAINT ledger_balances_non_negative');
    await client.query(
      `UPDATE ledger_balances SET posted = -700 WHERE account_id = (SELECT id FROM ledger_accounts WHERE path = 'investor:sunk:available')`,
    );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  expect(await INVARIANTS['ledger-sound'](stateOf())).toEqual(
    expect.arrayContaining([expect.stringMatching(/investor:sunk:available is below zero: -700/)]),
  );
});

it('reports a funded loan not subscribed exactly, and a CLOSED loan that did not return an investor principal', async () => {
  await createRepayingLoan(db.pool, {
    id: 'inv-loan',
    holdings: [
      { investorId: 'inv-a', holdingMinor: 60_000n },
      { investorId: 'inv-b', holdingMinor: 40_000n },
    ],
    termMonths: 1,
    repaymentMethod: 'interest_then_principal',
  });
  expect(await INVARIANTS['loans-exact'](stateOf())).toEqual([]);
  await db.pool.query(
    `UPDATE loans SET principal_minor = principal_minor + 1 WHERE id = 'inv-loan'`,
  );
  expect(await INVARIANTS['loans-exact'](stateOf())).toEqual([
    expect.stringMatching(/loan inv-loan \(\w+\) confirmed 100000 of 100001/),
  ]);
  await db.pool.query(
    `UPDATE loans SET principal_minor = principal_minor - 1, status = 'CLOSED' WHERE id = 'inv-loan'`,
  );
  expect(await INVARIANTS['loans-exact'](stateOf())).toEqual([
    expect.stringMatching(/loan inv-loan CLOSED but returned 0 of inv-a's principal 60000/),
    expect.stringMatching(/returned 0 of inv-b's principal 40000/),
  ]);
});

it('reports a recovery that says RECOVERED with money still owed', async () => {
  await db.pool.query(
    `INSERT INTO parties (id, kind, name) VALUES ('rec-inv', 'investor', 'R') ON CONFLICT DO NOTHING`,
  );
  await openRecovery(db.pool, {
    id: 'rc-m0000000000000001',
    investorId: 'rec-inv',
    currency: 'CNY',
    amountMinor: 900n,
    reason: 'test',
    openedBy: 'operator:t',
  });
  expect(await INVARIANTS['recoveries-accounted'](stateOf())).toEqual([]);
  await db.pool.query(
    `UPDATE recoveries SET state = 'RECOVERED', recovered_minor = 100 WHERE id = 'rc-m0000000000000001'`,
  );
  expect(await INVARIANTS['recoveries-accounted'](stateOf())).toEqual([
    'recovery rc-m0000000000000001 is RECOVERED with 100 recovered and 0 written off of 900',
  ]);
});

it('reports a workflow running in no state an operator can find, and an outbox row left due', async () => {
  const running = [
    {
      workflowId: 'payout-p1',
      type: 'payoutWorkflow',
      searchAttributes: { ReviewState: ['Pending'] },
    },
    {
      workflowId: 'payout-p2',
      type: 'payoutWorkflow',
      searchAttributes: { PayoutStatus: ['QUERYING'] },
    },
    // a loan waiting on its installment's exhausted collection is found through the installment
    { workflowId: 'loan-l1', type: 'loanWorkflow', searchAttributes: { LoanId: ['l1'] } },
    {
      workflowId: 'repayment-l1-2',
      type: 'repaymentWorkflow',
      parentExecution: { workflowId: 'loan-l1' },
      searchAttributes: { CollectionState: ['Exhausted'] },
    },
    // an approval's own workflow waiting for the second operator is findable; one not yet shown
    // (its first task not run) is not
    {
      workflowId: 'approval-apr-1',
      type: 'approvalWorkflow',
      searchAttributes: { ApprovalState: ['Pending'] },
    },
    { workflowId: 'approval-apr-2', type: 'approvalWorkflow', searchAttributes: {} },
    // ... but not through a child that is silent itself
    { workflowId: 'loan-l2', type: 'loanWorkflow', searchAttributes: { LoanId: ['l2'] } },
    {
      workflowId: 'repayment-l2-1',
      type: 'repaymentWorkflow',
      parentExecution: { workflowId: 'loan-l2' },
      searchAttributes: { CollectionState: ['Resumed'] },
    },
  ];
  const temporal = {
    workflow: {
      list: async function* () {
        yield* running;
      },
    },
  };
  const state = { stack: { db: db.pool, temporal } } as unknown as RunState;
  await db.pool.query('DELETE FROM outbox');
  expect(await INVARIANTS['nothing-silent'](state)).toEqual([
    'workflow payout-p2 (payoutWorkflow) is running in no state an operator can find',
    'workflow approval-apr-2 (approvalWorkflow) is running in no state an operator can find',
    'workflow loan-l2 (loanWorkflow) is running in no state an operator can find',
    'workflow repayment-l2-1 (repaymentWorkflow) is running in no state an operator can find',
  ]);
  await db.pool.query(
    `INSERT INTO outbox (action, workflow_type, workflow_id, payload) VALUES ('start', 'payoutWorkflow', 'payout-p3', '{}')`,
  );
  expect(await INVARIANTS['nothing-silent'](state)).toEqual(
    expect.arrayContaining(['the outbox has 1 row(s) due']),
  );
});
