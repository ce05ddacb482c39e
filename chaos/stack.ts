// A chaos run's own system: a Postgres schema of its own on the project's cluster, a Temporal dev
// server of its own (the pinned binary, on a free port, with its database file so a stop and
// restart keeps every workflow), the gateway simulator in this process (so its truth and fault
// rates are at hand), and the real API, worker and dispatcher processes, each killable.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { DemoApi } from '../demo/api';
import type { RunningSimulator } from '../gateway/simulator/server';
import { createPool } from '../ledger/db';
import { recordEnvironment } from '../ledger/environment';
import { migrate } from '../ledger/migrate';
import { FAST_TIMINGS, SECRET, startTestSimulator } from '../test/gateway/helpers';
import { freePort, startProcess, type RunningProcess } from '../test/helpers/processes';
import { ADMIN_DATABASE_URL, TEMPORAL_BIN, TEST_DATABASE, TEST_DATABASE_URL } from '../test/helpers/settings';
import { SearchAttributes } from '../workflows/shared';

export type ProcessKind = 'api' | 'worker' | 'dispatcher';
export const PROCESS_KINDS: readonly ProcessKind[] = ['api', 'worker', 'dispatcher'];

/** Longer than the worker's gateway request timeout (10 s): a held answer is a real timeout. */
const TIMEOUT_HOLD_MS = 11_000;

export interface StackOptions {
  seed: number;
  log: (line: string) => void;
  /** Serve the dev server's Web UI on a free port too (the browser test); otherwise headless. */
  webUi?: boolean;
}

export class ChaosStack {
  readonly processes = new Map<ProcessKind, RunningProcess>();
  private temporalChild: ChildProcess | undefined;
  private connection: Connection | undefined;

  private constructor(
    readonly schema: string,
    readonly db: Pool,
    readonly dir: string,
    readonly temporalAddress: string,
    readonly simulator: RunningSimulator,
    readonly api: DemoApi,
    readonly env: Record<string, string>,
    private readonly log: (line: string) => void,
    /** The Web UI's port, when it is served. */
    readonly webUiPort: number | undefined,
  ) {}

  private clientValue: Client | undefined;
  get temporal(): Client {
    if (!this.clientValue) throw new Error('Temporal is not connected');
    return this.clientValue;
  }

  static async start(options: StackOptions): Promise<ChaosStack> {
    const schema = `chaos_${options.seed}_${randomBytes(4).toString('hex')}`;
    await ensureTestDatabase();
    const admin = createPool({ connectionString: TEST_DATABASE_URL, max: 1 });
    try {
      await admin.query(`CREATE SCHEMA ${schema}`); // a name of ours: [a-z0-9_] only
    } finally {
      await admin.end();
    }
    const db = createPool({ connectionString: TEST_DATABASE_URL, schema, max: 4, applicationName: 'chaos' });
    await migrate(db);
    await recordEnvironment(db, 'test');

    const dir = mkdtempSync(join(tmpdir(), `chaos-${options.seed}-`));
    const apiPort = await freePort();
    const temporalPort = await freePort();
    const webUiPort = options.webUi ? await freePort() : undefined;
    const simulator = await startTestSimulator({
      dataDir: dir, seed: `chaos-${options.seed}`, notifyUrl: `http://127.0.0.1:${apiPort}/v1/gateway/notifications`,
      ...FAST_TIMINGS, timeoutHoldMs: TIMEOUT_HOLD_MS, processingMs: 1_500, lateNotifyMs: 3_000,
    });
    const adminKey = randomBytes(24).toString('hex');
    const env = {
      APP_ENV: 'test',
      DATABASE_URL: `${TEST_DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, TEMPORAL_NAMESPACE: 'default', ADMIN_API_KEY: adminKey,
      API_PORT: String(apiPort), GATEWAY_URL: simulator.url, GATEWAY_SECRET: SECRET,
      API_RATE_LIMIT_PER_MINUTE: '100000', LOG_LEVEL: 'warn',
    };
    const stack = new ChaosStack(schema, db, dir, env.TEMPORAL_ADDRESS, simulator, new DemoApi(`http://127.0.0.1:${apiPort}`, adminKey), env, options.log, webUiPort);
    await stack.startTemporal();
    for (const kind of PROCESS_KINDS) await stack.startKind(kind);
    return stack;
  }

  /** The dev server on its own database file: a restart keeps every workflow and timer. */
  async startTemporal(): Promise<void> {
    const [host, port] = this.temporalAddress.split(':');
    const ui = this.webUiPort === undefined ? ['--headless'] : ['--ui-port', String(this.webUiPort)];
    const args = ['server', 'start-dev', '--ip', host, '--port', port, ...ui, '--db-filename', join(this.dir, 'temporal.db'),
      '--namespace', 'default', '--log-level', 'error', ...Object.values(SearchAttributes).flatMap((a) => ['--search-attribute', `${a.name}=Keyword`])];
    const child = spawn(TEMPORAL_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4_000); });
    this.temporalChild = child;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`temporal exited with ${child.exitCode}: ${stderr}`);
      try {
        const connection = await Connection.connect({ address: this.temporalAddress, connectTimeout: 1_000 });
        await connection.workflowService.getSystemInfo({});
        await this.connection?.close().catch(() => undefined);
        this.connection = connection;
        this.clientValue = new Client({ connection, namespace: 'default' });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`temporal not ready after 60 s: ${(err as Error).message} ${stderr}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async stopTemporal(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.temporalChild;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  async restartTemporal(): Promise<void> {
    await this.stopTemporal('SIGKILL');
    await this.startTemporal();
  }

  async startKind(kind: ProcessKind): Promise<void> {
    this.processes.set(kind, await startProcess(kind, this.env, 90_000));
  }

  /** SIGKILL: no shutdown hook runs; then the same process starts again on the same settings. */
  async killAndRestart(kind: ProcessKind, downMs: number): Promise<void> {
    await this.processes.get(kind)?.kill();
    await new Promise((r) => setTimeout(r, downMs));
    await this.startKind(kind);
  }

  /** What a process said last (for a failure report). */
  tail(kind: ProcessKind, chars = 3_000): string {
    return this.processes.get(kind)?.output().slice(-chars) ?? '';
  }

  async stop(options: { keep: boolean }): Promise<void> {
    for (const p of this.processes.values()) await p.stop().catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    await this.stopTemporal().catch(() => undefined);
    await this.simulator.close().catch(() => undefined);
    await this.db.end().catch(() => undefined);
    if (options.keep) {
      this.log(`kept: schema ${this.schema} in ${TEST_DATABASE}, data in ${this.dir}`);
      return;
    }
    const admin = createPool({ connectionString: TEST_DATABASE_URL, max: 1 });
    try {
      await admin.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
    } finally {
      await admin.end();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The tests' database on the project's cluster (created as test/helpers/global-setup.ts does). */
async function ensureTestDatabase(): Promise<void> {
  const admin = createPool({ connectionString: ADMIN_DATABASE_URL, max: 1 });
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEST_DATABASE]);
    if (rowCount === 0) {
      await admin.query(`CREATE DATABASE ${TEST_DATABASE}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err;
      });
    }
  } finally {
    await admin.end();
  }
}
