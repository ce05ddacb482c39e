// The money invariants, checked once the system has settled. Each returns the violations it found
// as sentences naming the orders, accounts or workflows concerned (empty: it holds).
import { Ledger } from '../ledger';
import { clearingNets, gatewayNets, ordersDisagreeing } from '../ledger/clearing-nets';
import type { OperatorDecision, RunState } from './world';

export interface Violation {
  invariant: string;
  detail: string;
}

type Check = (state: RunState) => Promise<string[]>;

/**
 * No gateway order executed twice for one platform intent: every order the gateway executed is
 * one the platform made (or chaos's own second-channel payment); an installment is collected at
 * most once whatever its attempts; a payout is posted at most once.
 */
const executedOnce: Check = async ({ stack, secondChannel }) => {
  const truth = stack.simulator.truth().filter((o) => o.status === 'SUCCESS');
  const { rows: ours } = await stack.db.query<{ order_no: string }>(
    `SELECT order_no FROM payouts UNION ALL SELECT order_no FROM deposits UNION ALL SELECT order_no FROM repayment_collections
     UNION ALL SELECT order_no FROM recovery_collections`,
  );
  const known = new Set(ours.map((r) => r.order_no));
  const out = truth
    .filter((o) => !known.has(o.orderNo) && !secondChannel.has(o.orderNo))
    .map(
      (o) =>
        `the gateway executed ${o.kind} ${o.orderNo} (${o.amountMinor} minor) that no platform intent made`,
    );
  const executed = new Set(truth.map((o) => o.orderNo));
  const { rows: collections } = await stack.db.query<{
    loan_id: string;
    n: number;
    order_no: string;
  }>('SELECT loan_id, n, order_no FROM repayment_collections');
  const perInstallment = new Map<string, string[]>();
  for (const c of collections.filter((r) => executed.has(r.order_no)))
    perInstallment.set(`${c.loan_id}#${c.n}`, [
      ...(perInstallment.get(`${c.loan_id}#${c.n}`) ?? []),
      c.order_no,
    ]);
  for (const [k, orders] of perInstallment)
    if (orders.length > 1)
      out.push(`installment ${k} collected ${orders.length} times: ${orders.join(', ')}`);
  const { rows: posted } = await stack.db.query<{ key: string; n: number }>(
    `SELECT metadata->>'payoutId' AS key, count(*)::int AS n FROM ledger_transactions WHERE idempotency_key LIKE 'payout:%:post' GROUP BY 1 HAVING count(*) > 1`,
  );
  for (const p of posted) out.push(`payout ${p.key} posted ${p.n} times`);
  return out;
};

/**
 * Order by order, the money the ledger moved through the clearing account equals what the gateway
 * moved.
 */
const ledgerEqualsTruth: Check = async ({ stack }) => {
  const gateway = gatewayNets(stack.simulator.truth());
  const ledger = await clearingNets(stack.db);
  return ordersDisagreeing(new Set([...gateway.keys(), ...ledger.keys()]), gateway, ledger).map(
    (o) =>
      `order ${o}: the ledger moved ${ledger.get(o) ?? 0n}, the gateway ${gateway.get(o) ?? 0n} (minor units, + out)`,
  );
};

/**
 * The trial balance is zero, stored balances equal their recomputation, no user account below zero.
 */
const ledgerSound: Check = async ({ stack }) => {
  const ledger = new Ledger(stack.db);
  const out: string[] = [];
  const trial = await ledger.trialBalance();
  for (const l of trial.lines.filter((x) => !x.balanced))
    out.push(
      `trial balance of ${l.currency} is not zero: ${JSON.stringify(l, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
    );
  const check = await ledger.verify();
  for (const d of check.drifts)
    out.push(
      `balance drift: ${JSON.stringify(d, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
    );
  for (const t of check.unbalancedTransactions)
    out.push(
      `unbalanced transaction ${JSON.stringify(t, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
    );
  const { rows } = await stack.db.query<{ path: string; available: string }>(
    `SELECT a.path, sum(b.posted - b.pending_debits)::text AS available FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id
     WHERE a.type IN ('investor', 'borrower') GROUP BY a.path HAVING sum(b.posted - b.pending_debits) < 0`,
  );
  for (const r of rows) out.push(`${r.path} is below zero: ${r.available}`);
  return out;
};

/**
 * Every loan that funded is subscribed exactly; a CLOSED loan's schedule returned each investor's
 * principal exactly.
 */
const loansExact: Check = async ({ stack }) => {
  const out: string[] = [];
  const { rows: loans } = await stack.db.query<{
    id: string;
    status: string;
    principal: string;
    confirmed: string;
  }>(
    `SELECT l.id, l.status, l.principal_minor::text AS principal,
            (SELECT coalesce(sum(amount_minor), 0) FROM subscriptions s WHERE s.loan_id = l.id AND s.status = 'CONFIRMED')::text AS confirmed
     FROM loans l`,
  );
  for (const l of loans) {
    if (l.status === 'OPEN' || l.status === 'EXPIRED') continue;
    if (l.principal !== l.confirmed)
      out.push(`loan ${l.id} (${l.status}) confirmed ${l.confirmed} of ${l.principal}`);
  }
  const { rows: principal } = await stack.db.query<{
    loan_id: string;
    investor_id: string;
    held: string;
    returned: string;
  }>(
    `SELECT s.loan_id, s.investor_id, s.held::text, coalesce(r.returned, 0)::text AS returned
     FROM (SELECT loan_id, investor_id, sum(amount_minor) AS held FROM subscriptions WHERE status = 'CONFIRMED' GROUP BY 1, 2) s
     JOIN loans l ON l.id = s.loan_id AND l.status = 'CLOSED'
     LEFT JOIN (SELECT loan_id, investor_id, sum(principal_minor) AS returned FROM repayment_shares GROUP BY 1, 2) r USING (loan_id, investor_id)
     WHERE s.held <> coalesce(r.returned, 0)`,
  );
  for (const p of principal)
    out.push(
      `loan ${p.loan_id} CLOSED but returned ${p.returned} of ${p.investor_id}'s principal ${p.held}`,
    );
  return out;
};

/** Every recovery is RECOVERED (in full), WRITTEN_OFF, or open with an amount still owed. */
const recoveriesAccounted: Check = async ({ stack }) => {
  const { rows } = await stack.db.query<{
    id: string;
    state: string;
    amount: string;
    recovered: string;
    written: string;
  }>(
    `SELECT id, state, amount_minor::text AS amount, recovered_minor::text AS recovered, written_off_minor::text AS written FROM recoveries
     WHERE NOT ((state = 'RECOVERED' AND recovered_minor = amount_minor)
             OR (state = 'WRITTEN_OFF' AND recovered_minor + written_off_minor = amount_minor)
             OR (state IN ('OPEN', 'OFFSETTING', 'REQUESTED') AND recovered_minor + written_off_minor < amount_minor))`,
  );
  return rows.map(
    (r) =>
      `recovery ${r.id} is ${r.state} with ${r.recovered} recovered and ${r.written} written off of ${r.amount}`,
  );
};

/**
 * Named operator states a running workflow may wait in, by search attribute: an operator finds each
 * in the Web UI.
 */
const FINDABLE: Record<string, readonly string[]> = {
  ReviewState: ['Pending'],
  ReconState: ['Exceptions', 'Pending'],
  RecoveryState: ['Offsetting', 'Requested'],
  CollectionState: ['Exhausted'],
  // an approval's own workflow (approval-{id}) waiting for a second operator
  ApprovalState: ['Pending'],
};

/**
 * Nothing waits silently: every running workflow is in a findable operator state; the outbox has
 * nothing due.
 */
const nothingSilent: Check = async (state) => {
  const out = (await silentWorkflows(state)).map(
    (w) => `workflow ${w} is running in no state an operator can find`,
  );
  const { rows } = await state.stack.db.query<{ n: number; dead: number }>(
    `SELECT (SELECT count(*)::int FROM outbox WHERE not_before <= now()) AS n, (SELECT count(*)::int FROM outbox_dead_letters) AS dead`,
  );
  if (rows[0].n > 0) out.push(`the outbox has ${rows[0].n} row(s) due`);
  if (rows[0].dead > 0) out.push(`the outbox has ${rows[0].dead} dead letter(s)`);
  return out;
};

/**
 * Running workflows in no named operator state (still working, or waiting where nobody looks). A
 * parent waiting on a child that is in one (a loan on its installment's exhausted collection) is
 * found through that child.
 */
export async function silentWorkflows(state: RunState): Promise<string[]> {
  const running: { id: string; type: string; parent?: string; findable: boolean }[] = [];
  for await (const wf of state.stack.temporal.workflow.list({
    query: `ExecutionStatus = 'Running'`,
  })) {
    const attrs = wf.searchAttributes ?? {};
    const findable = Object.entries(FINDABLE).some(([key, values]) =>
      values.includes(String(attrs[key]?.[0] ?? '')),
    );
    running.push({
      id: wf.workflowId,
      type: wf.type,
      parent: wf.parentExecution?.workflowId ?? undefined,
      findable,
    });
  }
  const foundThroughChild = new Set(
    running.filter((w) => w.findable && w.parent).map((w) => w.parent),
  );
  return running
    .filter((w) => !w.findable && !foundThroughChild.has(w.id))
    .map((w) => `${w.id} (${w.type})`);
}

/** Every decision an operator made (that the system accepted) is in the audit log. */
const AUDIT_ACTIONS: Record<OperatorDecision['kind'], readonly string[]> = {
  review: ['review.resolved'],
  exception: ['exception.resolved', 'exception.cleared'],
  // a write-off that found the recovery cleared meanwhile is audited as such (chaos seed 53)
  'write-off': ['recovery.written_off', 'recovery.write_off_found_nothing'],
  'collection-request': ['recovery.collection_requested'],
};

const decisionsAudited: Check = async ({ stack, decisions }) => {
  const { rows } = await stack.db.query<{ action: string; subject: string }>(
    'SELECT action, subject FROM audit_log',
  );
  const audited = new Set(rows.map((r) => `${r.action} ${r.subject}`));
  return decisions
    .filter((d) => !AUDIT_ACTIONS[d.kind].some((action) => audited.has(`${action} ${d.subject}`)))
    .map((d) => `the operator's ${d.decision} on ${d.kind} ${d.subject} is not in audit_log`);
};

/**
 * No process of the system ended unless chaos ended it (a Postgres restart, a lost connection, a
 * refused call must not kill one).
 */
const processesSurvive: Check = async ({ stack }) => [...stack.unexpectedExits];

/**
 * The API never answered 500: a database that is down is a 503 the client retries, a refusal a 4xx.
 * Its error handler logs every 500 as "unhandled error".
 */
const noInternalErrors: Check = async ({ stack }) => {
  const lines = stack
    .outputOf('api')
    .split('\n')
    .filter((l) => l.includes('"msg":"unhandled error"'));
  return lines.length === 0
    ? []
    : [`the API answered 500 ${lines.length} time(s); the first: ${lines[0].slice(0, 1_500)}`];
};

export const INVARIANTS: Record<string, Check> = {
  'executed-once': executedOnce,
  'ledger-equals-gateway': ledgerEqualsTruth,
  'ledger-sound': ledgerSound,
  'loans-exact': loansExact,
  'recoveries-accounted': recoveriesAccounted,
  'nothing-silent': nothingSilent,
  'decisions-audited': decisionsAudited,
  'processes-survive': processesSurvive,
  'no-internal-errors': noInternalErrors,
};

export async function checkInvariants(state: RunState): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const [invariant, check] of Object.entries(INVARIANTS)) {
    for (const detail of await check(state)) out.push({ invariant, detail });
  }
  return out;
}
