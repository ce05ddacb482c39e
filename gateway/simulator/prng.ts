/**
 * The simulator's seeded randomness. Counter-based: a draw is a hash of (seed, order number,
 * call index, label), so a run is repeatable even when concurrent requests arrive in a different
 * order — which a sequential PRNG stream would not give.
 */
import { createHash } from 'node:crypto';

/** A uniform number in [0, 1) determined by the seed and the parts. */
export function uniform(seed: string, ...parts: string[]): number {
  const digest = createHash('sha256')
    .update([seed, ...parts].join('\u0000'))
    .digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** A stable short hex id for the same inputs (gateway trade numbers). */
export function stableId(seed: string, ...parts: string[]): string {
  return createHash('sha256')
    .update([seed, ...parts].join('\u0000'))
    .digest('hex')
    .slice(0, 20)
    .toUpperCase();
}
