/**
 * The simulator's orders: creation keyed by the merchant's order number (a repeat never
 * executes twice), PROCESSING orders that finish later (also after a restart), and which
 * notifications each state change sends. Every change is written to the truth store first.
 */
import { formatWireAmount } from '../../ledger/money';
import type { BankAccount, NotificationBody, OrderKind, OrderReply } from '../protocol';
import { feeMinor } from '../fees';
import type { FaultPlan } from './faults';
import type { Notifier } from './notifier';
import { stableId } from './prng';
import type { Timers } from './timers';
import type { OrderRecord, TruthStore } from './truth-store';

export interface OrderBookOptions {
  seed: string;
  /** How long processing-then-* orders stay PROCESSING. */
  processingMs: number;
  /** How long timeout-* faults hold the answer (and timeout-then-execute stays PROCESSING). */
  timeoutHoldMs: number;
  lateNotifyMs: number;
  /** Gap between a notification and its duplicate or its out-of-order stale twin. */
  notifyGapMs: number;
  now: () => number;
  timers: Timers;
  store: TruthStore;
  notifier: Notifier;
}

export interface NewOrder {
  kind: OrderKind;
  orderNo: string;
  amountMinor: bigint;
  currency: string;
  account: BankAccount;
  memo?: string;
  requestHash: string;
}

/** Sequence numbers: anything sent while (or as if) PROCESSING is 1, the final state is 2. */
const EARLY_SEQ = 1;
const FINAL_SEQ = 2;

export class OrderBook {
  private readonly calls = new Map<string, number>();

  constructor(private readonly options: OrderBookOptions) {
    // Orders left PROCESSING by a previous run finish as planned (at once if overdue).
    for (const record of options.store.all()) {
      if (record.pending) this.scheduleResolve(record.orderNo, record.pending.resolveAtMs);
    }
  }

  find(orderNo: string): OrderRecord | undefined {
    return this.options.store.get(orderNo);
  }

  /**
   * 0 for the first submit of this order number in this run, then 1, 2... (seeds the fault draw).
   */
  nextCallIndex(orderNo: string): number {
    const index = this.calls.get(orderNo) ?? 0;
    this.calls.set(orderNo, index + 1);
    return index;
  }

  create(order: NewOrder, plan: FaultPlan): OrderRecord {
    const now = this.options.now();
    const call = plan.call;
    let record: OrderRecord = {
      ...order,
      gatewayTradeNo: `GW${stableId(this.options.seed, order.orderNo)}`,
      status: 'SUCCESS',
      receivedAt: new Date(now).toISOString(),
      notifyFaults: [...plan.notify],
    };
    if (call?.type === 'fail') record = { ...record, status: 'FAILED', code: call.code };
    else if (call?.type === 'processing-then-success')
      record = {
        ...record,
        status: 'PROCESSING',
        pending: { resolveAtMs: now + this.options.processingMs, outcome: 'SUCCESS' },
      };
    else if (call?.type === 'processing-then-fail')
      record = {
        ...record,
        status: 'PROCESSING',
        pending: {
          resolveAtMs: now + this.options.processingMs,
          outcome: 'FAILED',
          code: call.code,
        },
      };
    else if (call?.type === 'processing-stuck')
      record = { ...record, status: 'PROCESSING' }; // never resolves: a permanent unknown
    else if (call?.type === 'timeout-then-execute')
      record = {
        ...record,
        status: 'PROCESSING',
        pending: { resolveAtMs: now + this.options.timeoutHoldMs, outcome: 'SUCCESS' },
      };
    else record = this.executed(record, now);
    if (call?.type === 'lie-failed') record.answeredAs = `FAILED:${call.code}`;

    this.options.store.put(record);
    if (record.pending) this.scheduleResolve(record.orderNo, record.pending.resolveAtMs);
    this.notifyCreated(record);
    return record;
  }

  /** Finishes a PROCESSING order whose time has come (idempotent); returns the current record. */
  settleIfDue(orderNo: string): OrderRecord | undefined {
    const record = this.find(orderNo);
    if (!record?.pending || record.pending.resolveAtMs > this.options.now()) return record;
    const { outcome, code } = record.pending;
    const settled: OrderRecord =
      outcome === 'SUCCESS'
        ? this.executed({ ...record, pending: undefined }, this.options.now())
        : { ...record, pending: undefined, status: 'FAILED', code: code ?? 'INSUFFICIENT_FUNDS' };
    this.options.store.put(settled);
    this.notifyFinal(settled);
    return settled;
  }

  reply(record: OrderRecord): OrderReply {
    return {
      orderNo: record.orderNo,
      kind: record.kind,
      status: record.status,
      ...(record.code === undefined ? {} : { code: record.code }),
      amount: formatWireAmount(record.amountMinor, record.currency),
      currency: record.currency,
      ...(record.feeMinor === undefined
        ? {}
        : { fee: formatWireAmount(record.feeMinor, record.currency) }),
      gatewayTradeNo: record.gatewayTradeNo,
    };
  }

  private executed(record: OrderRecord, nowMs: number): OrderRecord {
    return {
      ...record,
      status: 'SUCCESS',
      feeMinor: feeMinor(record.kind, record.amountMinor, record.currency),
      executedAt: new Date(nowMs).toISOString(),
    };
  }

  private scheduleResolve(orderNo: string, resolveAtMs: number): void {
    this.options.timers.schedule(resolveAtMs - this.options.now(), () => {
      // A timer can fire a moment before the wall clock reaches its time (setTimeout runs on
      // another clock): not due yet, so wait again rather than leave the order PROCESSING for good.
      const pending = this.find(orderNo)?.pending;
      if (pending && pending.resolveAtMs > this.options.now())
        this.scheduleResolve(orderNo, pending.resolveAtMs);
      else this.settleIfDue(orderNo);
    });
  }

  private notification(
    record: OrderRecord,
    status: string,
    eventSeq: number,
    amountMinor: bigint,
  ): NotificationBody {
    return {
      notifyId: `${record.gatewayTradeNo}-${eventSeq}`,
      orderNo: record.orderNo,
      kind: record.kind,
      status,
      ...(status === 'FAILED' && record.code !== undefined ? { code: record.code } : {}),
      amount: formatWireAmount(amountMinor, record.currency),
      currency: record.currency,
      ...(status === 'SUCCESS' && record.feeMinor !== undefined
        ? { fee: formatWireAmount(record.feeMinor, record.currency) }
        : {}),
      gatewayTradeNo: record.gatewayTradeNo,
      eventSeq,
      eventTime: new Date(this.options.now()).toISOString(),
    };
  }

  private has(record: OrderRecord, fault: OrderRecord['notifyFaults'][number]): boolean {
    return record.notifyFaults.includes(fault);
  }

  private delay(record: OrderRecord): number {
    return this.has(record, 'notify-late') ? this.options.lateNotifyMs : 0;
  }

  private notifyCreated(record: OrderRecord): void {
    if (this.has(record, 'notify-none')) return;
    // The incident's channel polled "status 0" (unpaid) with the right amount before paying.
    if (this.has(record, 'notify-status-0')) {
      this.options.notifier.send(
        this.notification(record, '0', EARLY_SEQ, record.amountMinor),
        this.delay(record),
        this.has(record, 'notify-bad-signature'),
      );
    }
    if (record.status !== 'PROCESSING') this.notifyFinal(record);
  }

  private notifyFinal(record: OrderRecord): void {
    if (this.has(record, 'notify-none')) return;
    const bad = this.has(record, 'notify-bad-signature');
    const gap = this.options.notifyGapMs;
    // Off by one minor unit: the smallest difference, the one a tolerant compare would miss.
    const amount = this.has(record, 'notify-wrong-amount')
      ? record.amountMinor > 1n
        ? record.amountMinor - 1n
        : record.amountMinor + 1n
      : record.amountMinor;
    const final = this.notification(record, record.status, FINAL_SEQ, amount);
    const delay = this.delay(record) + (this.has(record, 'notify-status-0') ? gap : 0);
    this.options.notifier.send(final, delay, bad);
    let extra = 1;
    if (this.has(record, 'notify-duplicate'))
      this.options.notifier.send(final, delay + gap * extra++, bad);
    if (this.has(record, 'notify-out-of-order')) {
      this.options.notifier.send(
        this.notification(record, 'PROCESSING', EARLY_SEQ, record.amountMinor),
        delay + gap * extra,
        bad,
      );
    }
  }
}
