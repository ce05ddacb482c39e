// A chaos run's own system: a Postgres schema of its own on the chaos process's own throwaway
// cluster (chaos/postgres.ts: it may be stopped with `pg_ctl -m immediate`), a Temporal dev server
// of its own (the pinned binary, on a free port, with its database file so a stop and
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
import { createPool } from '../db/pool';
import { isDatabaseUnavailable } from '../db/errors';
import { recordEnvironment } from '../db/environment';
import { migrate } from '../db/migrate';
import { FAST_TIMINGS, SECRET, startTestSimulator } from '../test/gateway/helpers';
import {
  freePort,
  startProcess,
  withSearchPath,
  type RunningProcess,
} from '../test/helpers/processes';
import { TEMPORAL_BIN } from '../test/helpers/settings';
import { SearchAttributes } from '../workflows/contracts/common';
import { CHAOS_DATABASE, chaosPostgres, type ChaosPostgres } from './postgres';

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
  /** Processes that ended without being told to (a crash): which, how, and what they said last. */
  readonly unexpectedExits: string[] = [];
  /** What the earlier incarnations of each process said (a kill starts a new one). */
  private readonly pastOutput = new Map<ProcessKind, string>();
  private readonly ended = new WeakSet<ChildProcess>();
  private temporalChild: ChildProcess | undefined;
  private connection: Connection | undefined;

  private constructor(
    readonly postgres: ChaosPostgres,
    readonly schema: string,
    readonly db: Pool,
    readonly dir: string,
    /** Chosen anew only if the first start finds its port taken (see startTemporalFirst). */
    public temporalAddress: string,
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
    const postgres = await chaosPostgres(options.log);
    const admin = createPool({ connectionString: postgres.url, max: 1 });
    try {
      await admin.query(`CREATE SCHEMA ${schema}`); // a name of ours: [a-z0-9_] only
    } finally {
      await admin.end();
    }
    const db = waitsOutRestarts(
      createPool({ connectionString: postgres.url, schema, max: 4, applicationName: 'chaos' }),
    );
    await migrate(db);
    await recordEnvironment(db, 'test');

    const dir = mkdtempSync(join(tmpdir(), `chaos-${options.seed}-`));
    const apiPort = await freePort();
    const temporalPort = await freePort();
    const webUiPort = options.webUi ? await freePort() : undefined;
    const simulator = await startTestSimulator({
      dataDir: dir,
      seed: `chaos-${options.seed}`,
      notifyUrl: `http://127.0.0.1:${apiPort}/v1/gateway/notifications`,
      ...FAST_TIMINGS,
      timeoutHoldMs: TIMEOUT_HOLD_MS,
      processingMs: 1_500,
      lateNotifyMs: 3_000,
    });
    const adminKey = randomBytes(24).toString('hex');
    const env = {
      APP_ENV: 'test',
      DATABASE_URL: withSearchPath(postgres.appUrl, schema), // the application role's own login
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      TEMPORAL_NAMESPACE: 'default',
      ADMIN_API_KEY: adminKey,
      API_PORT: String(apiPort),
      GATEWAY_URL: simulator.url,
      GATEWAY_SECRET: SECRET,
      API_RATE_LIMIT_PER_MINUTE: '100000',
      // most reviews' paid decisions wait for the second operator (maker-checker)
      APPROVAL_PAID_ABOVE: '100.00',
      LOG_LEVEL: 'warn',
    };
    const stack = new ChaosStack(
      postgres,
      schema,
      db,
      dir,
      env.TEMPORAL_ADDRESS,
      simulator,
      new DemoApi(`http://127.0.0.1:${apiPort}`, adminKey),
      env,
      options.log,
      webUiPort,
    );
    await stack.startTemporalFirst();
    for (const kind of PROCESS_KINDS) await stack.startKind(kind);
    return stack;
  }

  /**
   * The first start, before any process connects: a port found free a moment ago can be taken by
   * then (seven seeds pick ports at once in CI: seed 6 lost its frontend port), so it is picked
   * again, up to three times. A restart keeps its port: the processes are connected to it.
   */
  private async startTemporalFirst(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startTemporal();
      } catch (err) {
        if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
        this.temporalAddress = `127.0.0.1:${await freePort()}`;
        this.env.TEMPORAL_ADDRESS = this.temporalAddress;
        this.log(`temporal's port was taken: trying ${this.temporalAddress}`);
      }
    }
  }

  /** The dev server on its own database file: a restart keeps every workflow and timer. */
  async startTemporal(): Promise<void> {
    const [host, port] = this.temporalAddress.split(':');
    const ui =
      this.webUiPort === undefined ? ['--headless'] : ['--ui-port', String(this.webUiPort)];
    const args = [
      'server',
      'start-dev',
      '--ip',
      host,
      '--port',
      port,
      ...ui,
      '--db-filename',
      join(this.dir, 'temporal.db'),
      '--namespace',
      'default',
      '--log-level',
      'error',
      ...Object.values(SearchAttributes).flatMap((a) => [
        '--search-attribute',
        `${a.name}=Keyword`,
      ]),
    ];
    const child = spawn(TEMPORAL_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4_000);
    });
    this.temporalChild = child;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`temporal exited with ${child.exitCode}: ${stderr}`);
      try {
        const connection = await Connection.connect({
          address: this.temporalAddress,
          connectTimeout: 1_000,
        });
        await connection.workflowService.getSystemInfo({});
        await this.connection?.close().catch(() => undefined);
        this.connection = connection;
        this.clientValue = new Client({ connection, namespace: 'default' });
        return;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`temporal not ready after 60 s: ${(err as Error).message} ${stderr}`);
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

  /**
   * `pg_ctl -m immediate stop` of the run's cluster (every backend killed, no checkpoint), down
   * `downMs`, `pg_ctl start -w`.
   */
  async restartPostgres(downMs: number): Promise<void> {
    await this.postgres.restartImmediate(downMs);
  }

  async startKind(kind: ProcessKind): Promise<void> {
    const p = await startProcess(kind, this.env, 90_000);
    p.child.once('exit', (code, signal) => {
      if (!this.ended.has(p.child))
        this.unexpectedExits.push(
          `${kind} exited by itself (${signal ?? `exit code ${code}`}); it said last: ${p.output().slice(-1_500)}`,
        );
    });
    this.processes.set(kind, p);
  }

  /** SIGKILL (no shutdown hook runs) or SIGTERM; what it said is kept. */
  private async end(kind: ProcessKind, how: 'kill' | 'stop'): Promise<void> {
    const p = this.processes.get(kind);
    if (!p) return;
    this.ended.add(p.child);
    await p[how]();
    this.pastOutput.set(kind, ((this.pastOutput.get(kind) ?? '') + p.output()).slice(-4_000_000));
  }

  /** SIGKILL: no shutdown hook runs; then the same process starts again on the same settings. */
  async killAndRestart(kind: ProcessKind, downMs: number): Promise<void> {
    await this.end(kind, 'kill');
    await new Promise((r) => setTimeout(r, downMs));
    await this.startKind(kind);
  }

  /** Everything a kind of process said over the run, every incarnation. */
  outputOf(kind: ProcessKind): string {
    return (this.pastOutput.get(kind) ?? '') + (this.processes.get(kind)?.output() ?? '');
  }

  /** What a process said last (for a failure report). */
  tail(kind: ProcessKind, chars = 3_000): string {
    return this.processes.get(kind)?.output().slice(-chars) ?? '';
  }

  async stop(options: { keep: boolean }): Promise<void> {
    for (const kind of this.processes.keys()) await this.end(kind, 'stop').catch(() => undefined);
    await this.connection?.close().catch(() => undefined);
    await this.stopTemporal().catch(() => undefined);
    await this.simulator.close().catch(() => undefined);
    await this.db.end().catch(() => undefined);
    if (options.keep) {
      this.log(
        `kept: schema ${this.schema} in database ${CHAOS_DATABASE} of the chaos cluster ${this.postgres.dataDir} (stopped at the end of the run; to look: ${this.postgres.howToStart()}), data in ${this.dir}`,
      );
      return;
    }
    const admin = createPool({ connectionString: this.postgres.url, max: 1 });
    try {
      await admin.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
    } catch (err) {
      this.log(`could not drop schema ${this.schema}: ${(err as Error).message}`);
    } finally {
      await admin.end();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Longer than a pg-restart step (down at most 1.5 s, then crash recovery). */
const DB_WAIT_MS = 60_000;

/**
 * The chaos process's own reads (workload probes, operators, invariants) are an observer's: while a
 * pg-restart step has the database down they wait and ask again, as a client would, instead of
 * failing the run. The system's processes get no such help.
 */
function waitsOutRestarts(pool: Pool): Pool {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  pool.query = (async (...args: unknown[]) => {
    const deadline = Date.now() + DB_WAIT_MS;
    for (;;) {
      try {
        return await query(...args);
      } catch (err) {
        if (!isDatabaseUnavailable(err) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }) as Pool['query'];
  return pool;
}
