// The system's real processes (API, worker, dispatcher), spawned as `npm run` would run them, on a
// test file's own schema and servers, so a test can SIGKILL one and start it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestDatabase } from './postgres';

const ROOT = join(__dirname, '..', '..');

export const ENTRY_POINTS = {
  api: 'api/server.ts',
  worker: 'worker/main.ts',
  dispatcher: 'worker/dispatcher-main.ts',
} as const;

/**
 * A process inherits the test run's environment but not the owner's login (`npm test` exports
 * MIGRATION_DATABASE_URL for the migrations): as in a deployment, only a process told it has it.
 */
const tsNode = (script: string, args: string[], env: Record<string, string>) => {
  const { MIGRATION_DATABASE_URL: _ownersLogin, ...inherited } = process.env;
  return spawn(
    join(ROOT, 'node_modules', '.bin', 'ts-node'),
    ['--transpile-only', join(ROOT, script), ...args],
    {
      cwd: ROOT,
      env: { ...inherited, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
};

/**
 * Runs a command-line entry point (e.g. demo/main.ts) to its end: its exit code and everything it
 * printed.
 */
export async function runToEnd(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  const child = tsNode(script, args, env);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

/** What each process prints once it is serving. */
const READY: Record<keyof typeof ENTRY_POINTS, RegExp> = {
  api: /listening|Server listening/i,
  worker: /polling task queue/,
  dispatcher: /draining the outbox/,
};

export interface RunningProcess {
  readonly child: ChildProcess;
  output(): string;
  /** SIGKILL: no shutdown hook runs, in-flight work is simply lost. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The DATABASE_URL of a test file's schema, for a process of its own: the application role's login,
 * as in production (or the owner's, for a test that wants it refused).
 */
export function processDatabaseUrl(db: TestDatabase, login: 'app' | 'owner' = 'app'): string {
  return withSearchPath(login === 'app' ? db.appUrl : db.url, db.schema);
}

/**
 * `url` with the session's search_path set to `schema` (libpq's `options`: the processes take no
 * schema setting).
 */
export function withSearchPath(url: string, schema: string): string {
  return `${url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/**
 * A port free now, for a process started next. Picked below Linux's ephemeral range (32768 and
 * up), where every outgoing connection takes its local port: a port found free there can be taken
 * by a client's socket before the process binds it (chaos seeds in CI lost an API port so).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await bindable(port)) return port;
  }
  return ephemeralPort();
}

async function bindable(port: number): Promise<boolean> {
  const server = createServer();
  const result = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (result) {
    server.close();
    await once(server, 'close');
  }
  return result;
}

async function ephemeralPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export async function startProcess(
  kind: keyof typeof ENTRY_POINTS,
  env: Record<string, string>,
  readyTimeoutMs = 60_000,
): Promise<RunningProcess> {
  const child = tsNode(ENTRY_POINTS[kind], [], env);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  // A spawn that fails (its files gone, e.g. node_modules emptied under a run) is an 'error'
  // event: unheard, it would end the whole test or chaos process and orphan its servers.
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  const exited = once(child, 'exit');
  const deadline = Date.now() + readyTimeoutMs;
  while (!READY[kind].test(output)) {
    if (spawnError) throw new Error(`${kind} could not start: ${spawnError.message}`);
    if (child.exitCode !== null)
      throw new Error(`${kind} exited with ${child.exitCode}: ${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${kind} not ready after ${readyTimeoutMs} ms: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { child, output: () => output, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}
