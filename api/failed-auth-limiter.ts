// Failed authentication, limited per address before any database work (issue 16 item 3): an
// address that has failed too often in the window is answered 429 at once, without looking up a
// key, so a 401 flood costs a map lookup. Past the alert threshold it is logged as an ALERT, once
// per window. In memory, per API process: each replica limits what it sees.

export interface FailedAuthLimits {
  /** Failures per address per window before it is refused outright. */
  maxFailures: number;
  windowMs: number;
  /** Failures in a window that raise an alert (logged once per window and address). */
  alertAt: number;
  /** Addresses tracked at most (the oldest windows are dropped first). */
  maxAddresses: number;
}

export const DEFAULT_FAILED_AUTH_LIMITS: FailedAuthLimits = {
  maxFailures: 20,
  windowMs: 60_000,
  alertAt: 100,
  maxAddresses: 100_000,
};

interface Window {
  startedMs: number;
  failures: number;
  alerted: boolean;
}

export class FailedAuthLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limits: FailedAuthLimits,
    private readonly alert: (address: string, failures: number) => void,
  ) {}

  /** Milliseconds until the address may try again, when it is refused now. */
  refusedFor(address: string, nowMs: number): number | undefined {
    const w = this.current(address, nowMs);
    return w && w.failures >= this.limits.maxFailures
      ? w.startedMs + this.limits.windowMs - nowMs
      : undefined;
  }

  /**
   * A failed authentication from the address (refusals while it is limited count too: the alert
   * sees the flood).
   */
  failed(address: string, nowMs: number): void {
    let w = this.current(address, nowMs);
    if (!w) {
      if (this.windows.size >= this.limits.maxAddresses)
        this.windows.delete(this.windows.keys().next().value as string);
      w = { startedMs: nowMs, failures: 0, alerted: false };
      this.windows.set(address, w);
    }
    w.failures += 1;
    if (w.failures >= this.limits.alertAt && !w.alerted) {
      w.alerted = true;
      this.alert(address, w.failures);
    }
  }

  private current(address: string, nowMs: number): Window | undefined {
    const w = this.windows.get(address);
    if (w && nowMs - w.startedMs >= this.limits.windowMs) {
      this.windows.delete(address);
      return undefined;
    }
    return w;
  }
}
