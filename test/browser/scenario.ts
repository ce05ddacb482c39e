// What the browser test needs the platform to be in, driven as a client would (over the API, on
// the real processes of a ChaosStack): a loan's disbursement payout stuck in MANUAL_REVIEW, and a
// day whose reconciliation has an exception to resolve.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { ChaosStack } from '../../chaos/stack';
import { parseFault } from '../../gateway/simulator/faults';
import type { ReviewEvidence } from '../../workflows/contracts/gateway-order';

const ROOT = join(__dirname, '..', '..');
const account = (n: number, name: string) => ({
  bankCode: 'ICBC',
  accountNo: `62220203${String(n).padStart(8, '0')}`,
  accountName: name,
});

export interface Parties {
  operatorKey: string;
  /** A second operator's key: approves what the first one's decisions hold. */
  checkerKey: string;
  investorId: string;
  investorKey: string;
  borrowerId: string;
}

/** Polls `probe` until it returns a value (bounded). */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** An operator key, a borrower, and an investor whose deposit through the gateway has settled. */
export async function parties(stack: ChaosStack, runId: string): Promise<Parties> {
  const { api } = stack;
  const { key: operatorKey } = await api.must<{ key: string }>('POST', '/v1/api-keys', {
    body: { role: 'operator' },
  });
  const { key: checkerKey } = await api.must<{ key: string }>('POST', '/v1/api-keys', {
    body: { role: 'operator' },
  });
  const borrowerId = `${runId}-bor`;
  const investorId = `${runId}-inv`;
  await api.must('POST', '/v1/borrowers', {
    body: { id: borrowerId, name: 'Borrower Co.', bankAccount: account(1, 'Borrower Co.') },
    idempotencyKey: `${borrowerId}-create`,
  });
  await api.must('POST', '/v1/investors', {
    // (the account is added below, by the investor: one penny test, the one the deposit names)
    body: { id: investorId, name: 'Ivy Investor' },
    idempotencyKey: `${investorId}-create`,
  });
  const { key: investorKey } = await api.must<{ key: string }>('POST', '/v1/api-keys', {
    body: { role: `investor:${investorId}` },
  });
  const { bankAccountId } = await api.must<{ bankAccountId: string }>(
    'POST',
    `/v1/investors/${investorId}/bank-accounts`,
    { key: investorKey, body: account(2, 'Ivy Investor'), idempotencyKey: `${investorId}-ba` },
  );
  await until(
    'the penny test to verify the account',
    async () => {
      const listed = await api.must<{ bankAccountId: string; status: string }[]>(
        'GET',
        `/v1/investors/${investorId}/bank-accounts`,
        { key: investorKey },
      );
      const mine = listed.find((a) => a.bankAccountId === bankAccountId);
      return mine?.status === 'VERIFIED' ? true : undefined;
    },
    30_000,
  );
  await api.must('POST', `/v1/investors/${investorId}/deposits`, {
    key: investorKey,
    body: { amount: '1000.00', bankAccountId },
    idempotencyKey: `${investorId}-dep`,
  });
  await until(
    'the deposit to settle',
    async () => {
      const b = await api.must<{ available: string }>(
        'GET',
        `/v1/investors/${investorId}/balance`,
        { key: investorKey },
      );
      return b.available === '1000.00' ? true : undefined;
    },
    30_000,
  );
  return { operatorKey, checkerKey, investorId, investorKey, borrowerId };
}

/**
 * A loan on a compressed calendar (so its payouts query for seconds, not minutes), filled by the
 * investor: its disbursement to the borrower meets a gateway that answers FAILED with a code off
 * the definitive list (SYSTEM_BUSY) to the payout and to every query, so the payout stops in
 * MANUAL_REVIEW. The gateway's own record says FAILED. Returns the review.
 */
export async function disbursementInReview(
  stack: ChaosStack,
  p: Parties,
  runId: string,
): Promise<{ workflowId: string; evidence: ReviewEvidence }> {
  const { api } = stack;
  const loanId = `${runId}-loan`;
  stack.simulator.setFaultRates([
    { spec: 'fail:SYSTEM_BUSY', fault: parseFault('fail:SYSTEM_BUSY'), rate: 1 },
  ]);
  try {
    await api.must('POST', '/v1/loans', {
      idempotencyKey: `${loanId}-create`,
      body: {
        id: loanId,
        borrowerId: p.borrowerId,
        principal: '500.00',
        annualRate: '0.12',
        termMonths: 1,
        repaymentMethod: 'equal_installment',
        // An hour a "month": the first installment is not due while the test runs.
        subscriptionDeadline: new Date(Date.now() + 20 * 60_000).toISOString(),
        installmentIntervalSeconds: 3_600,
      },
    });
    await api.must('POST', `/v1/loans/${loanId}/subscriptions`, {
      key: p.investorKey,
      body: { investorId: p.investorId, amount: '500.00' },
      idempotencyKey: `${loanId}-sub`,
    });
    return await until(
      'the disbursement to wait for review',
      async () => {
        const reviews = await api.must<
          { workflowId: string; kind: string; evidence: ReviewEvidence }[]
        >('GET', '/v1/reviews', { key: p.operatorKey });
        return reviews.find(
          (r) =>
            r.kind === 'payoutWorkflow' &&
            r.workflowId.includes(loanId) &&
            r.evidence.state === 'MANUAL_REVIEW',
        );
      },
      45_000,
      500,
    );
  } finally {
    stack.simulator.setFaultRates([]);
  }
}

/**
 * The incident's second channel: the gateway pays out an order the platform never made (to the
 * investor, as the test tells the operator). Reconciling its day finds it as a THEIRS_ONLY
 * exception. Returns that UTC day, as the gateway's statement has it.
 */
export async function secondChannelPayment(stack: ChaosStack, orderNo: string): Promise<string> {
  const res = await fetch(`${stack.simulator.url}/_sim/executed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'PAYOUT', orderNo, amount: '120.00', currency: 'CNY' }),
  });
  if (!res.ok) throw new Error(`/_sim/executed: HTTP ${res.status} ${await res.text()}`);
  const { executedAt } = (await res.json()) as { executedAt: string };
  return executedAt.slice(0, 10);
}

/**
 * `npm run ops -- ...` as a real process against the stack's API with the operator's key: its exit
 * code and output.
 */
export async function npmRunOps(
  stack: ChaosStack,
  operatorKey: string,
  args: string[],
): Promise<{ code: number | null; out: string }> {
  const child = spawn(
    'npm',
    ['run', '--silent', 'ops', '--', '--api-url', stack.api.baseUrl, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, OPS_API_KEY: operatorKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, out };
}
