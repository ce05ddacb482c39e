/**
 * Full outage, two ways a real PSP goes down:
 * - `refuse`: the listener is closed and open connections dropped, so clients get ECONNREFUSED
 *   (provably not sent); it reopens on the same port after the duration.
 * - `503`: every merchant route answers 503 (sent, outcome unknown). Control routes stay up.
 */
import type { Server } from 'node:http';
import type { Timers } from './timers';

export type OutageMode = 'none' | 'refuse' | '503';

export class Outage {
  private current: OutageMode = 'none';
  private generation = 0;
  /** Why the listener could not reopen, if it could not (shown by GET /_sim/faults). */
  lastError: string | undefined;

  /** address() is read when reopening: the port is known only after the first listen (port 0). */
  constructor(
    private readonly server: Server,
    private readonly address: () => { port: number; host: string },
    private readonly timers: Timers,
  ) {}

  get mode(): OutageMode {
    return this.current;
  }

  /** Starts an outage; with durationMs it ends by itself. */
  async start(mode: Exclude<OutageMode, 'none'>, durationMs?: number): Promise<void> {
    await this.end();
    this.current = mode;
    const generation = ++this.generation;
    if (mode === 'refuse') {
      this.server.close();
      this.server.closeAllConnections();
    }
    if (durationMs !== undefined) {
      this.timers.schedule(durationMs, () => {
        if (this.generation !== generation) return;
        this.end().catch((err: unknown) => {
          this.lastError = String(err);
        });
      });
    }
  }

  async end(): Promise<void> {
    const was = this.current;
    this.current = 'none';
    this.generation++;
    if (was === 'refuse' && !this.timers.isClosed) await this.listen();
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const { port, host } = this.address();
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }
}
