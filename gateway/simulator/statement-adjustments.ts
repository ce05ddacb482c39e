/**
 * Errors a real PSP's statement file has been seen to carry, injected per order for
 * reconciliation tests and the demo: a different amount or fee than the order had, or the same
 * order listed twice. Applied when the statement is generated; the truth journal is untouched.
 */
export interface StatementAdjustment {
  amountMinor?: bigint;
  feeMinor?: bigint;
  duplicate?: boolean;
}

export class StatementAdjustments {
  private readonly byOrder = new Map<string, StatementAdjustment>();

  set(orderNo: string, adjustment: StatementAdjustment): void {
    this.byOrder.set(orderNo, { ...this.byOrder.get(orderNo), ...adjustment });
  }

  get(orderNo: string): StatementAdjustment | undefined {
    return this.byOrder.get(orderNo);
  }
}
