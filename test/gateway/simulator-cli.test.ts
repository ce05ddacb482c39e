// The simulator as its own process, as scripts/stack.sh runs it: --help, start on a free port,
// answer the health check, exit cleanly on SIGTERM; bad flags are refused.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { control, tempDir } from './helpers';

const ROOT = join(__dirname, '..', '..');
const TS_NODE = join(ROOT, 'node_modules', '.bin', 'ts-node');
const MAIN = join(ROOT, 'gateway', 'simulator-main.ts');

it('--help documents the flags', () => {
  const result = spawnSync(TS_NODE, ['--transpile-only', MAIN, '--help'], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, APP_ENV: 'test' },
  });
  expect(result.status).toBe(0);
  for (const flag of [
    '--port',
    '--host',
    '--data-dir',
    '--notify-url',
    '--secret',
    '--seed',
    '--fault-rates',
    '--timeout-hold-ms',
  ]) {
    expect(result.stdout).toContain(flag);
  }
});

it('refuses a bad fault rate with a message', () => {
  const result = spawnSync(TS_NODE, ['--transpile-only', MAIN, '--fault-rates', 'explode=0.5'], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, APP_ENV: 'test' },
  });
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain("unknown fault 'explode'");
});

it('starts on port 0, answers /_sim/health, and exits 0 on SIGTERM', async () => {
  const dir = tempDir();
  const child = spawn(
    TS_NODE,
    [
      '--transpile-only',
      MAIN,
      '--port',
      '0',
      '--data-dir',
      dir.path,
      '--secret',
      'cli-test-secret-0123456789',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, APP_ENV: 'test' } },
  );
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/[0-9.]+:\d+)/.exec(out);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    expect((await control(url, 'GET', '/_sim/health')).json).toMatchObject({ ok: true });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    dir.remove();
  }
});
