// Issue 15 item 12a: statement amounts become minor units exactly (numeric, never a float), and a
// line with more decimals than its currency's scale fails the load loudly, leaving nothing
// half-loaded (the day's earlier load stands).
import { Readable } from 'node:stream';
import { STATEMENT_COLUMNS } from '../../gateway/protocol';
import { loadStatement, reconRunId } from '../../reconciliation/statement';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();
const date = '2026-02-03';
const ref = { runId: reconRunId('default', date), channel: 'default', date };
const csv = (...lines: string[]) =>
  Readable.from([`${STATEMENT_COLUMNS.join(',')}\n${lines.map((l) => `${l}\n`).join('')}`]);
const line = (orderNo: string, amount: string, fee = '1.00') =>
  `${orderNo},gt-${orderNo},PAYOUT,SUCCESS,${amount},CNY,${fee},${date}T10:00:00Z`;
const loaded = async () =>
  (
    await db.pool.query(
      `SELECT order_no, amount_minor::text, fee_minor::text FROM recon_statement_lines WHERE run_id = $1 ORDER BY line_no`,
      [ref.runId],
    )
  ).rows;

it('a statement amount is loaded exactly, never through a float', async () => {
  // 2^53 + 1 minor units: a double cannot hold it (it would load as ...992).
  const result = await loadStatement(
    db.pool,
    ref,
    csv(line('ex-big', '90071992547409.93'), line('ex-small', '0.29', '0.07')),
  );
  expect(await loaded()).toEqual([
    { order_no: 'ex-big', amount_minor: '9007199254740993', fee_minor: '100' },
    { order_no: 'ex-small', amount_minor: '29', fee_minor: '7' },
  ]);
  expect(result).toEqual({ lines: 2, theirsMinor: '9007199254741022' });
});

it('a statement line with more decimals than the currency allows fails the load and loads nothing', async () => {
  await loadStatement(db.pool, ref, csv(line('ex-ok', '10.00')));
  await expect(
    loadStatement(db.pool, ref, csv(line('ex-ok', '10.00'), line('ex-bad', '10.005'))),
  ).rejects.toThrow(/ex-bad.*decimals|decimals.*ex-bad/);
  await expect(loadStatement(db.pool, ref, csv(line('ex-fee', '10.00', '1.001')))).rejects.toThrow(
    /ex-fee/,
  );
  await expect(loadStatement(db.pool, ref, csv(line('ex-neg', '-10.00')))).rejects.toThrow(
    /ex-neg/,
  );
  await expect(loadStatement(db.pool, ref, csv(line('ex-exp', '1e3')))).rejects.toThrow(/ex-exp/);
  // the earlier load stands
  expect(await loaded()).toEqual([{ order_no: 'ex-ok', amount_minor: '1000', fee_minor: '100' }]);
  const {
    rows: [run],
  } = await db.pool.query(`SELECT theirs_count, theirs_minor::text FROM recon_runs WHERE id = $1`, [
    ref.runId,
  ]);
  expect(run).toEqual({ theirs_count: 1, theirs_minor: '1000' });
});
