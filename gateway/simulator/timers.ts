/**
 * Every timer the simulator sets (held answers, PROCESSING orders, notification retries) goes
 * through here, so closing the simulator cancels all of them and leaves no open handles.
 */
export class Timers {
  private readonly pending = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  /** Runs fn after ms unless closed first. */
  schedule(ms: number, fn: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(
      () => {
        this.pending.delete(timer);
        fn();
      },
      Math.max(0, ms),
    );
    this.pending.set(timer, () => undefined);
  }

  /** Resolves after ms, or early when closed (the caller then checks `isClosed`). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const timer = setTimeout(
        () => {
          this.pending.delete(timer);
          resolve();
        },
        Math.max(0, ms),
      );
      this.pending.set(timer, resolve);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    for (const [timer, wake] of this.pending) {
      clearTimeout(timer);
      wake();
    }
    this.pending.clear();
  }
}
