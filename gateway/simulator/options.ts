/** The simulator's settings, their defaults, and the checks that refuse nonsense early. */
import { isAbsolute } from 'node:path';
import { validateRates, type FaultRate } from './faults';

export interface SimulatorOptions {
  port: number;
  host: string;
  /** Where the truth journal lives; the same dir after a restart gives the same truth. */
  dataDir: string;
  merchantId: string;
  /** Merchant secret: checks request signatures and signs notifications. */
  secret: string;
  /**
   * During a rotation of the merchant's secret, another whose request signatures are accepted too
   * (as a PSP lets a merchant hold two keys): the platform switches its requests over, then it is
   * dropped. Notifications are signed with `secret` only.
   */
  alsoAccept?: string;
  /** Where notifications go; none are sent without it. */
  notifyUrl?: string;
  seed: string;
  faultRates: FaultRate[];
  timeoutHoldMs: number;
  processingMs: number;
  lateNotifyMs: number;
  notifyGapMs: number;
  notifyMaxAttempts: number;
  notifyBackoffMs: number;
  notifyBackoffMaxMs: number;
  notifyTimeoutMs: number;
  /** fdatasync every journal append (off only for throwaway benchmarks). */
  fsync: boolean;
  /** pino request logging to stdout. */
  log: boolean;
  now: () => number;
}

export const DEFAULT_OPTIONS: Omit<SimulatorOptions, 'dataDir' | 'secret'> = {
  port: 4100,
  host: '127.0.0.1',
  merchantId: 'lending-core',
  seed: 'gateway-sim',
  faultRates: [],
  timeoutHoldMs: 30_000,
  processingMs: 5_000,
  lateNotifyMs: 60_000,
  notifyGapMs: 1_000,
  notifyMaxAttempts: 8,
  notifyBackoffMs: 1_000,
  notifyBackoffMaxMs: 60_000,
  notifyTimeoutMs: 5_000,
  fsync: true,
  log: false,
  now: Date.now,
};

export type SimulatorInput = Partial<SimulatorOptions> &
  Pick<SimulatorOptions, 'dataDir' | 'secret'>;

export function resolveOptions(input: SimulatorInput): SimulatorOptions {
  const options: SimulatorOptions = { ...DEFAULT_OPTIONS, ...input };
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535)
    throw new Error(`port ${options.port} is not a TCP port`);
  if (options.secret.length < 16) throw new Error('the secret must have at least 16 characters');
  if (options.alsoAccept !== undefined && options.alsoAccept.length < 16)
    throw new Error('the secret also accepted must have at least 16 characters');
  if (!isAbsolute(options.dataDir))
    throw new Error(`dataDir must be an absolute path, got '${options.dataDir}'`);
  if (options.notifyUrl !== undefined && !/^https?:$/.test(new URL(options.notifyUrl).protocol))
    throw new Error('notifyUrl must be http(s)');
  for (const key of [
    'timeoutHoldMs',
    'processingMs',
    'lateNotifyMs',
    'notifyGapMs',
    'notifyBackoffMs',
    'notifyBackoffMaxMs',
    'notifyTimeoutMs',
  ] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 0)
      throw new Error(`${key} must be a non-negative integer of ms`);
  }
  if (
    !Number.isInteger(options.notifyMaxAttempts) ||
    options.notifyMaxAttempts < 1 ||
    options.notifyMaxAttempts > 50
  ) {
    throw new Error('notifyMaxAttempts must be within 1..50');
  }
  validateRates(options.faultRates);
  return options;
}
