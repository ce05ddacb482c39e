/**
 * The simulator's durable record of what it really executed: an append-only JSON-lines journal
 * in the data dir, one full snapshot of an order per line, each written (and fsynced) before the
 * order's answer leaves. Reloaded on start: the last snapshot per order wins. This is the truth
 * chaos tests compare the ledger with, whatever the gateway *answered*.
 */
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { BankAccount, OrderKind, OrderStatus } from '../protocol';
import type { NotifyFault } from './faults';

export interface OrderRecord {
  orderNo: string;
  kind: OrderKind;
  amountMinor: bigint;
  currency: string;
  account: BankAccount;
  memo?: string;
  /** Hash of the first request's content: a repeat with other content is a conflict. */
  requestHash: string;
  gatewayTradeNo: string;
  status: OrderStatus;
  code?: string;
  feeMinor?: bigint;
  receivedAt: string;
  /** When money moved (status SUCCESS): the statement's day. */
  executedAt?: string;
  /** For PROCESSING orders: when and how they finish (survives a restart). */
  pending?: { resolveAtMs: number; outcome: 'SUCCESS' | 'FAILED'; code?: string };
  notifyFaults: NotifyFault[];
  /** Set when the first answer differed from the truth (the lie-failed fault). */
  answeredAs?: string;
}

export const JOURNAL_FILE = 'truth.jsonl';

export function recordToJson(record: OrderRecord): Record<string, unknown> {
  return {
    ...record,
    amountMinor: record.amountMinor.toString(),
    feeMinor: record.feeMinor?.toString(),
  };
}

function recordFromJson(json: Record<string, unknown>): OrderRecord {
  const fee = json.feeMinor;
  return {
    ...(json as unknown as OrderRecord),
    amountMinor: BigInt(json.amountMinor as string),
    feeMinor: typeof fee === 'string' ? BigInt(fee) : undefined,
  };
}

export class TruthStore {
  private readonly orders = new Map<string, OrderRecord>();
  private readonly fd: number;

  private constructor(
    readonly journalPath: string,
    private readonly fsync: boolean,
  ) {
    let existing = existsSync(journalPath) ? readFileSync(journalPath, 'utf8') : '';
    const lines = existing.split('\n');
    let offset = 0;
    for (const [i, line] of lines.entries()) {
      const start = offset;
      offset += Buffer.byteLength(line) + 1;
      if (line.trim() === '') continue;
      try {
        const record = recordFromJson(JSON.parse(line) as Record<string, unknown>);
        this.orders.set(record.orderNo, record);
      } catch (err) {
        // Only the last line can be torn (a crash mid-append); anything else is corruption.
        if (i !== lines.length - 1)
          throw new Error(`${journalPath}:${i + 1} is corrupt: ${(err as Error).message}`);
        // Cut the torn tail off, as a write-ahead log does: it was never acknowledged to anyone.
        truncateSync(journalPath, start);
        existing = existing.slice(0, start);
      }
    }
    this.fd = openSync(journalPath, 'a');
    // A complete last snapshot whose newline was lost: end its line before appending.
    if (existing.length > 0 && !existing.endsWith('\n')) writeSync(this.fd, '\n');
  }

  static open(dataDir: string, options: { fsync: boolean }): TruthStore {
    mkdirSync(dataDir, { recursive: true });
    return new TruthStore(join(dataDir, JOURNAL_FILE), options.fsync);
  }

  get(orderNo: string): OrderRecord | undefined {
    return this.orders.get(orderNo);
  }

  all(): OrderRecord[] {
    return [...this.orders.values()];
  }

  /** Durably appends the new snapshot, then makes it current. */
  put(record: OrderRecord): void {
    writeSync(this.fd, `${JSON.stringify(recordToJson(record))}\n`);
    if (this.fsync) fdatasyncSync(this.fd);
    this.orders.set(record.orderNo, record);
  }

  close(): void {
    closeSync(this.fd);
  }
}
