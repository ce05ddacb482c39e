/**
 * The gateway simulator as its own process:
 *   node_modules/.bin/ts-node --transpile-only gateway/simulator-main.ts --help
 * Flags fall back to environment variables (shown in --help), so scripts/stack.sh and a shell
 * configure it the same way.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseFaultRates } from './simulator/faults';
import { DEFAULT_OPTIONS, type SimulatorOptions } from './simulator/options';
import { startSimulator } from './simulator/server';
import { isDevelopmentOrTest } from '../config/env';

/** The development secret; real deployments of the simulator pass their own. */
const DEV_SECRET = 'dev-only-gateway-secret-change-me';

function integer(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

function rates(value: string): ReturnType<typeof parseFaultRates> {
  try {
    return parseFaultRates(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

const ms = (flag: string, description: string, fallback: number): Option =>
  new Option(`${flag} <ms>`, description).argParser(integer).default(fallback);

const program = new Command()
  .name('gateway-simulator')
  .description(
    'A payment-gateway (PSP) simulator: payouts, collections, queries, signed notifications, daily statements, fault injection.\nControl endpoints live under /_sim/ (see gateway/README.md).',
  )
  .addOption(
    new Option('-p, --port <port>', 'TCP port (0 = any free port)')
      .argParser(integer)
      .default(DEFAULT_OPTIONS.port)
      .env('GATEWAY_PORT'),
  )
  .addOption(
    new Option('--host <host>', 'address to bind (keep it on loopback: /_sim/ is unauthenticated)')
      .default(DEFAULT_OPTIONS.host)
      .env('GATEWAY_HOST'),
  )
  .addOption(
    new Option('-d, --data-dir <dir>', 'directory of the truth journal (truth.jsonl)')
      .default('.data/gateway')
      .env('GATEWAY_DATA_DIR'),
  )
  .addOption(
    new Option('--notify-url <url>', 'where async notifications are POSTed (none without it)').env(
      'GATEWAY_NOTIFY_URL',
    ),
  )
  .addOption(
    new Option('--merchant-id <id>', 'the one merchant accepted')
      .default(DEFAULT_OPTIONS.merchantId)
      .env('GATEWAY_MERCHANT_ID'),
  )
  .addOption(
    new Option('--secret <secret>', 'HMAC secret for requests and notifications (min 16 chars)')
      .default(DEV_SECRET)
      .env('GATEWAY_SECRET'),
  )
  .addOption(
    new Option(
      '--also-accept <secret>',
      'during a rotation, a second secret whose request signatures are accepted (notifications stay signed with --secret)',
    ).env('GATEWAY_SECRET_ALSO_ACCEPTED'),
  )
  .addOption(
    new Option(
      '--seed <seed>',
      'seed of the fault draws: the same seed and order numbers give the same faults',
    )
      .default(DEFAULT_OPTIONS.seed)
      .env('GATEWAY_SEED'),
  )
  .addOption(
    new Option(
      '--fault-rates <list>',
      'fault=rate,... e.g. "timeout-then-execute=0.05,fail:REJECTED=0.01,notify-duplicate=0.2"',
    )
      .argParser(rates)
      .env('GATEWAY_FAULT_RATES'),
  )
  .addOption(
    ms(
      '--timeout-hold-ms',
      'how long timeout faults hold the answer',
      DEFAULT_OPTIONS.timeoutHoldMs,
    ),
  )
  .addOption(
    ms(
      '--processing-ms',
      'how long processing-then-* orders stay PROCESSING',
      DEFAULT_OPTIONS.processingMs,
    ),
  )
  .addOption(ms('--late-notify-ms', 'delay of a late notification', DEFAULT_OPTIONS.lateNotifyMs))
  .addOption(
    ms(
      '--notify-gap-ms',
      'gap before a duplicate or out-of-order notification',
      DEFAULT_OPTIONS.notifyGapMs,
    ),
  )
  .addOption(
    new Option('--notify-max-attempts <n>', 'delivery attempts per notification')
      .argParser(integer)
      .default(DEFAULT_OPTIONS.notifyMaxAttempts),
  )
  .addOption(
    ms(
      '--notify-backoff-ms',
      'first retry delay, doubled each attempt',
      DEFAULT_OPTIONS.notifyBackoffMs,
    ),
  )
  .addOption(ms('--notify-backoff-max-ms', 'retry delay cap', DEFAULT_OPTIONS.notifyBackoffMaxMs))
  .addOption(
    ms('--notify-timeout-ms', 'timeout of one delivery attempt', DEFAULT_OPTIONS.notifyTimeoutMs),
  )
  .option(
    '--no-fsync',
    'do not fdatasync journal appends (benchmarks only: a crash may lose truth)',
  )
  .option('--log', 'log every request (JSON, pino)', false)
  .showHelpAfterError();

/** What commander parses: the simulator's settings less the clock, fault rates optional. */
type CliOptions = Omit<SimulatorOptions, 'now' | 'faultRates'> & {
  faultRates?: SimulatorOptions['faultRates'];
};

/**
 * A test double: it runs only where APP_ENV says development or test, exactly (unset, a typo or
 * staging: refused).
 */
function refuseOutsideDevelopment(): void {
  const appEnv = process.env.APP_ENV;
  if (!isDevelopmentOrTest(appEnv)) {
    console.error(
      `gateway simulator: refusing to run with APP_ENV=${appEnv ?? '(unset)'}: it is a test double with unauthenticated fault-injection routes; set APP_ENV=development or test`,
    );
    process.exit(78);
  }
}

async function main(): Promise<void> {
  refuseOutsideDevelopment();
  program.parse();
  const cli = program.opts<CliOptions>();
  const sim = await startSimulator({
    ...cli,
    dataDir: resolve(cli.dataDir),
    faultRates: cli.faultRates ?? [],
  });
  if (cli.secret === DEV_SECRET)
    console.warn('gateway simulator: using the development secret (set GATEWAY_SECRET)');
  console.log(
    `gateway simulator listening on ${sim.url} (truth journal ${resolve(cli.dataDir)}/truth.jsonl, notify ${cli.notifyUrl ?? 'off'})`,
  );
  const stop = (signal: string): void => {
    console.log(`gateway simulator: ${signal}, closing`);
    sim.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`gateway simulator: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
