// The incident of ../shared/incidents/: after a month's interest run, the gateway pays one
// investor's interest a second time through another channel, an order the platform never made.
// The reconciliation of the day finds it (theirs only), the operator opens a recovery against the
// investor, and the investor's next interest payout is reduced until it is cleared.
import { formatAmount } from '../../ledger/money';
import { sleep } from '../api';
import { uiSearchLink, type World } from '../world';

export interface IncidentResult {
  orderNo: string;
  investorId: string;
  amountMinor: bigint;
  exceptionsFound: number;
  resolution: string;
  recoveryId?: string;
}

interface DayView {
  state: string;
  exceptions: {
    id: string;
    class: string;
    orderNo: string;
    status: string;
    recoveryId: string | null;
  }[];
}

/** Installment n's interest payouts are going out: the first one paid is paid a second time. */
export async function doublePayment(
  world: World,
  loanId: string,
  n: number,
): Promise<IncidentResult> {
  const victim = await firstInterestPaid(world, loanId, n);
  const { orderNo, amount } = await payAgain(world, victim);
  // The next day's reconciliation (on this compressed calendar: today's statement, right away).
  const date = new Date().toISOString().slice(0, 10);
  const day = await reconcileUntilFound(world, date, orderNo);
  const exception = day.exceptions.find(
    (e) => e.orderNo === orderNo,
  ) as DayView['exceptions'][number];
  console.log(
    `  reconciliation ${date}: ${exception.class} ${orderNo} (${amount}), found among ${day.exceptions.length} exception(s) of the day; in the Web UI: ${uiSearchLink(world, "ReconState = 'Exceptions'")}`,
  );
  const recoveryId = await recoverFrom(world, date, exception.id, victim);
  console.log(
    `  recovery ${recoveryId} opened against ${victim.party_id} for ${amount}: their next payouts are offset until it is repaid`,
  );
  return {
    orderNo,
    investorId: victim.party_id,
    amountMinor: BigInt(victim.amount_minor),
    exceptionsFound: day.exceptions.length,
    resolution: 'recover',
    recoveryId,
  };
}

interface Paid {
  party_id: string;
  amount_minor: string;
  order_no: string;
}

/** The first of installment n's interest payouts to succeed (waited for up to 30 s). */
async function firstInterestPaid(world: World, loanId: string, n: number): Promise<Paid> {
  let victim: Paid | undefined;
  for (let i = 0; i < 120 && !victim; i++) {
    ({
      rows: [victim],
    } = await world.db.query<Paid>(
      `SELECT party_id, amount_minor::text, order_no FROM payouts WHERE loan_id = $1 AND installment = $2 AND status = 'SUCCEEDED' AND id LIKE '%-interest'
       ORDER BY settled_at, id LIMIT 1`,
      [loanId, n],
    ));
    if (!victim) await sleep(250);
  }
  if (!victim) throw new Error(`no interest payout of installment ${n} succeeded`);
  return victim;
}

/** The gateway executes the same payout again under an order number of its own. */
async function payAgain(world: World, victim: Paid): Promise<{ orderNo: string; amount: string }> {
  const orderNo = `${victim.order_no}-ch2`.slice(0, 64);
  const amount = formatAmount(BigInt(victim.amount_minor), 'CNY');
  const res = await fetch(`${world.simulator.url}/_sim/executed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'PAYOUT', orderNo, amount, currency: 'CNY' }),
  });
  if (!res.ok)
    throw new Error(`injecting the double payment: HTTP ${res.status} ${await res.text()}`);
  console.log(
    `  ⚠ the gateway pays ${victim.party_id}'s ${amount} of interest again, through a second channel (order ${orderNo}): the platform never asked for it`,
  );
  return { orderNo, amount };
}

/** The day reconciled again, read until it reports the order as an exception. */
async function reconcileUntilFound(world: World, date: string, orderNo: string): Promise<DayView> {
  await world.api.must('POST', '/v1/reconciliations', {
    body: { channel: 'default', date, rerun: true },
  });
  for (let i = 0; i < 120; i++) {
    const r = await world.api.call<DayView>('GET', `/v1/reconciliations/default/${date}`);
    if (r.status === 200 && r.body.exceptions.some((e) => e.orderNo === orderNo)) return r.body;
    await sleep(500);
  }
  throw new Error('the reconciliation did not report the double payment');
}

/** The operator resolves the exception as a recovery from the investor: the recovery's id. */
async function recoverFrom(
  world: World,
  date: string,
  exceptionId: string,
  victim: Paid,
): Promise<string> {
  // The listing can show the exception a moment before the run has finished matching: the
  // workflow then refuses the decision (409, "the day is FETCHED"), and the operator tries again.
  // A recover opens a recovery by hand: held for a second operator, who approves it.
  const checkerKey = await world.api.checkerKey();
  const resolve = async () =>
    world.api.approvedBy<{ error?: { message: string } }>(
      checkerKey,
      await world.api.call(
        'POST',
        `/v1/reconciliations/default/${date}/exceptions/${exceptionId}/resolve`,
        {
          body: {
            action: 'recover',
            investorId: victim.party_id,
            reason: `second-channel double payment of ${victim.order_no}`,
          },
        },
      ),
    );
  let resolved = await resolve();
  for (
    let i = 0;
    i < 60 &&
    resolved.status === 409 &&
    /the day is (FETCHED|MATCHED)/.test(resolved.body.error?.message ?? '');
    i++
  ) {
    await sleep(500);
    resolved = await resolve();
  }
  if (resolved.status !== 200)
    throw new Error(
      `resolving the exception: HTTP ${resolved.status} ${JSON.stringify(resolved.body)}`,
    );
  const {
    rows: [e],
  } = await world.db.query<{ recovery_id: string }>(
    'SELECT recovery_id FROM recon_exceptions WHERE id = $1',
    [exceptionId],
  );
  return e.recovery_id;
}

/** How much of the recovery came back, and its state, at the end. */
export async function recoveryOutcome(
  world: World,
  recoveryId: string,
): Promise<{ state: string; recoveredMinor: bigint }> {
  const {
    rows: [r],
  } = await world.db.query<{ state: string; recovered: string }>(
    'SELECT state, recovered_minor::text AS recovered FROM recoveries WHERE id = $1',
    [recoveryId],
  );
  return { state: r.state, recoveredMinor: BigInt(r.recovered) };
}
