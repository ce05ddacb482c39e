/**
 * The daily statement (对账单): one CSV line per order executed (status SUCCESS) on a UTC day,
 * with its fee. Streamed from the truth journal line by line through csv-stringify, so a day of
 * millions of orders never sits in memory. Relies on SUCCESS being terminal: an order has
 * exactly one SUCCESS snapshot in the journal.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { formatWireAmount } from '../../ledger/money';
import { STATEMENT_COLUMNS } from '../protocol';
import type { StatementAdjustments } from './statement-adjustments';

export function isStatementDate(date: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return false;
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(date);
}

interface JournalLine {
  orderNo: string;
  gatewayTradeNo: string;
  kind: string;
  status: string;
  amountMinor: string;
  currency: string;
  feeMinor?: string;
  executedAt?: string;
}

function parseLine(line: string): JournalLine | undefined {
  try {
    return JSON.parse(line) as JournalLine;
  } catch {
    return undefined; // a torn last line from a crash: never a statement line
  }
}

export function statementStream(
  journalPath: string,
  date: string,
  adjustments?: StatementAdjustments,
): Readable {
  const csv = stringify({ header: true, columns: [...STATEMENT_COLUMNS] });
  const produce = async (): Promise<void> => {
    const lines = createInterface({
      input: createReadStream(journalPath, { encoding: 'utf8' }),
      crlfDelay: Infinity,
    });
    for await (const line of lines) {
      const entry = parseLine(line);
      if (entry?.status !== 'SUCCESS' || !entry.executedAt?.startsWith(date)) continue;
      const adjusted = adjustments?.get(entry.orderNo);
      const row = [
        entry.orderNo,
        entry.gatewayTradeNo,
        entry.kind,
        entry.status,
        formatWireAmount(adjusted?.amountMinor ?? BigInt(entry.amountMinor), entry.currency),
        entry.currency,
        formatWireAmount(adjusted?.feeMinor ?? BigInt(entry.feeMinor ?? '0'), entry.currency),
        entry.executedAt,
      ];
      // Respect back-pressure: a slow reader must not make us buffer the whole day.
      for (let copies = adjusted?.duplicate ? 2 : 1; copies > 0; copies--) {
        if (!csv.write(row)) await once(csv, 'drain');
      }
    }
    csv.end();
  };
  produce().catch((err: unknown) =>
    csv.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return csv;
}
