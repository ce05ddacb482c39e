// The chaos suite's own Postgres cluster: a throwaway cluster it may stop with
// `pg_ctl -m immediate` (the project's shared cluster must never be). One per chaos process, reused
// across its seeds, in a slot directory `.data/chaos-pg/<n>` (data/, postgres.log, owner): initdb'd
// once and reused by later runs; a second chaos process at the same time takes the next slot. The
// cluster listens on a free port of its own on 127.0.0.1, without a Unix socket, trust auth
// (loopback only). The application role may log in to it: the system's processes use that login, as
// in production.
import { execFile, execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { allowAppRoleLogin, APP_ROLE } from '../db/app-role';
import { createPool } from '../db/pool';
import { freePort } from '../test/helpers/processes';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const BASE_DIR = process.env.CHAOS_PG_DIR ?? join(ROOT, '.data', 'chaos-pg');
const SLOTS = 8;
export const CHAOS_DATABASE = 'lending_chaos';

/** As scripts/env.sh finds them. */
function pgBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  if (existsSync('/usr/lib/postgresql/15/bin/initdb')) return '/usr/lib/postgresql/15/bin';
  throw new Error('no Postgres binaries at /usr/lib/postgresql/15/bin: set PG_BIN_DIR');
}

const IS_ROOT = process.getuid?.() === 0;

/**
 * Postgres refuses to run as root: as scripts/env.sh's as_pg_user, its binaries run as the postgres
 * user then.
 */
async function asPgUser(bin: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const [file, argv] = IS_ROOT ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  try {
    const { stdout, stderr } = await run(file, argv, { timeout: timeoutMs });
    return stdout + stderr;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${bin.split('/').pop()} ${args.join(' ')} failed: ${e.message} ${e.stdout ?? ''} ${e.stderr ?? ''}`.slice(
        0,
        2_000,
      ),
    );
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the slot for this process (an `owner` file created exclusively), or says it is someone
 * else's.
 */
function claim(slotDir: string): boolean {
  mkdirSync(slotDir, { recursive: true });
  const owner = join(slotDir, 'owner');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(owner, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(owner, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) return false;
      unlinkSync(owner); // its chaos process died without releasing it
    }
  }
  return false;
}

export class ChaosPostgres {
  private stopped = false;

  private constructor(
    readonly slotDir: string,
    readonly port: number,
    private readonly log: (line: string) => void,
  ) {}

  get dataDir(): string {
    return join(this.slotDir, 'data');
  }
  get logFile(): string {
    return join(this.slotDir, 'postgres.log');
  }
  /** The server-level URL (database `postgres`). */
  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }
  /**
   * The chaos database, where each seed has a schema of its own: the owner's login (migrations, the
   * chaos process's own reads).
   */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${CHAOS_DATABASE}`;
  }
  /**
   * The same database as the application role's own login: the API's, the worker's and the
   * dispatcher's.
   */
  get appUrl(): string {
    return `postgres://${APP_ROLE}@127.0.0.1:${this.port}/${CHAOS_DATABASE}`;
  }

  /** A free slot, initdb'd if new, started on a free port, with the chaos database. */
  static async start(log: (line: string) => void): Promise<ChaosPostgres> {
    mkdirSync(BASE_DIR, { recursive: true });
    for (let n = 0; n < SLOTS; n++) {
      const slotDir = join(BASE_DIR, String(n));
      if (!claim(slotDir)) continue;
      const pg = new ChaosPostgres(slotDir, await freePort(), log);
      try {
        await pg.prepare();
        await pg.startServer();
        await pg.ensureDatabase();
      } catch (err) {
        await pg.release();
        throw err;
      }
      log(`chaos postgres: ${pg.dataDir} on 127.0.0.1:${pg.port}`);
      // A chaos process that dies of an error still stops its server (no async work runs at exit).
      process.once('exit', () => pg.releaseNow());
      return pg;
    }
    throw new Error(`every chaos Postgres slot in ${BASE_DIR} is taken by a running chaos process`);
  }

  /** initdb once; a server a dead owner left running is stopped first. */
  private async prepare(): Promise<void> {
    if (IS_ROOT) await run('chown', ['postgres:', this.slotDir]);
    if (existsSync(join(this.dataDir, 'postmaster.pid')) && (await this.running())) {
      this.log(`chaos postgres: stopping the server a dead chaos process left on ${this.dataDir}`);
      await this.ctl(['-m', 'immediate', 'stop']);
    }
    if (existsSync(join(this.dataDir, 'PG_VERSION'))) return;
    rmSync(this.dataDir, { recursive: true, force: true }); // an initdb that did not finish
    const started = Date.now();
    await asPgUser(join(pgBinDir(), 'initdb'), [
      '-D',
      this.dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ]);
    this.log(`chaos postgres: initdb ${this.dataDir} (${Date.now() - started} ms)`);
  }

  private ctl(args: string[]): Promise<string> {
    return asPgUser(join(pgBinDir(), 'pg_ctl'), ['-D', this.dataDir, ...args]);
  }

  async running(): Promise<boolean> {
    return this.ctl(['status']).then(
      () => true,
      () => false,
    );
  }

  /**
   * `fsync=off`: a process crash (what `-m immediate` is) loses nothing the kernel already has, and
   * a commit still writes its WAL before it is acknowledged; only an OS crash would lose data.
   */
  private async startServer(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      '-c listen_addresses=127.0.0.1',
      "-c unix_socket_directories=''",
      '-c max_connections=200',
      '-c shared_buffers=128MB',
      '-c fsync=off',
      '-c jit=off',
    ].join(' ');
    await this.ctl(['-l', this.logFile, '-w', '-t', '120', '-o', options, 'start']);
  }

  private async ensureDatabase(): Promise<void> {
    const admin = createPool({ connectionString: this.adminUrl, max: 1 });
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        CHAOS_DATABASE,
      ]);
      if (rowCount === 0) await admin.query(`CREATE DATABASE ${CHAOS_DATABASE}`);
      await allowAppRoleLogin(admin);
    } finally {
      await admin.end();
    }
  }

  /**
   * The fault: every backend killed at once, no checkpoint (crash recovery at the next start); down
   * `downMs`; started again.
   */
  async restartImmediate(downMs: number): Promise<void> {
    await this.ctl(['-m', 'immediate', '-w', 'stop']);
    await new Promise((r) => setTimeout(r, downMs));
    await this.startServer();
  }

  /**
   * Stops the server (fast: a clean shutdown) and gives the slot back; its data directory stays for
   * the next run.
   */
  async release(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (await this.running())
      await this.ctl(['-m', 'fast', '-w', 'stop']).catch((err: Error) =>
        this.log(`chaos postgres: stop failed: ${err.message}`),
      );
    rmSync(join(this.slotDir, 'owner'), { force: true });
  }

  /** The synchronous last resort at process exit. */
  private releaseNow(): void {
    if (this.stopped) return;
    this.stopped = true;
    const args = ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop'];
    const ctl = join(pgBinDir(), 'pg_ctl');
    try {
      execFileSync(
        IS_ROOT ? 'runuser' : ctl,
        IS_ROOT ? ['-u', 'postgres', '--', ctl, ...args] : args,
        { stdio: 'ignore', timeout: 30_000 },
      );
    } catch {
      // not running
    }
    rmSync(join(this.slotDir, 'owner'), { force: true });
  }

  /** How to look at a kept schema after the run. */
  howToStart(): string {
    const ctl = `${join(pgBinDir(), 'pg_ctl')} -D ${this.dataDir} -l ${this.logFile} -o "-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start`;
    return IS_ROOT ? `runuser -u postgres -- ${ctl}` : ctl;
  }
}

let shared: Promise<ChaosPostgres> | undefined;

/** This process's chaos cluster, started at the first call and reused by every later seed. */
export function chaosPostgres(log: (line: string) => void): Promise<ChaosPostgres> {
  shared ??= ChaosPostgres.start(log);
  shared.catch(() => {
    shared = undefined;
  });
  return shared;
}

/** Stops this process's chaos cluster, if it started one. */
export async function releaseChaosPostgres(): Promise<void> {
  const pg = await shared?.catch(() => undefined);
  shared = undefined;
  await pg?.release();
}
