// Chaos seed 53: an operator's write-off was accepted while a payout's offset cleared the same
// recovery. The recovery's workflow then found nothing to write off, and nothing in the audit log
// said what became of the decision. Now the write-off that finds the recovery RECOVERED is audited
// as such, once, with its operator, and books nothing. On the real Postgres, through the activity's
// own function.
import { Ledger } from '../../ledger';
import { readAudit } from '../../db/audit';
import { inTransaction } from '../../db/pool';
import { preparePayoutPage } from '../../payments/payout-runs';
import { getRecovery, writeOffRecovery } from '../../payments/recoveries';
import { useTestDatabase } from '../helpers/postgres';
import { expectLedgerConsistent } from '../ledger/helpers';
import { oneInvestorLoanCollected, openOwedRecovery } from './fixtures';

const db = useTestDatabase();

afterEach(() => expectLedgerConsistent(db.pool));

it('a write-off of a recovery an offset cleared meanwhile books nothing and is in the audit log once', async () => {
  const loanId = 'wf1';
  const investor = await oneInvestorLoanCollected(db.pool, loanId);
  await openOwedRecovery(db.pool, 'rc-wf1', investor, 100n);
  await preparePayoutPage(db.pool, loanId, 1, '', 100); // the offset clears the recovery
  expect(await getRecovery(db.pool, 'rc-wf1')).toMatchObject({ state: 'RECOVERED' });

  const decision = { operator: 'operator:op-53', reason: 'cannot collect', requestId: 'req-53' };
  for (let i = 0; i < 2; i++) {
    // the workflow's activity, and its retry after a commit
    const after = await inTransaction(db.pool, (tx) => writeOffRecovery(tx, 'rc-wf1', decision));
    expect(after).toMatchObject({ state: 'RECOVERED', writtenOffMinor: 0n });
  }

  expect((await new Ledger(db.pool).balance('platform:write-offs')).posted).toBe(0n);
  const rows = (await readAudit(db.pool, undefined, 100)).filter((r) => r.subject === 'rc-wf1');
  expect(rows.map((r) => ({ action: r.action, actor: r.actor, requestId: r.requestId }))).toEqual([
    { action: 'recovery.write_off_found_nothing', actor: 'operator:op-53', requestId: 'req-53' },
  ]);
  expect(rows[0].details).toEqual({ state: 'RECOVERED', recoveredMinor: '100' });
});
