// The one source of randomness of a chaos run: mulberry32, seeded from the run's seed. Every
// choice of the schedule (workload, faults, their timing, operators' decisions) is drawn from it
// in one order, so the same seed and step count replay the same schedule.

export class Prng {
  private state: number;

  constructor(seed: number) {
    // Mix the seed once so seeds 1, 2, 3 do not start on neighbouring states.
    this.state = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0 || 1;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  /** A weighted choice: `weights` maps each option to its relative weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((a, [, w]) => a + w, 0);
    let r = this.next() * total;
    for (const [k, w] of entries) {
      r -= w;
      if (r < 0) return k;
    }
    return entries[entries.length - 1][0];
  }

  /** Money: a whole number of minor units in [minMinor, maxMinor], in steps of `stepMinor`. */
  minor(minMinor: bigint, maxMinor: bigint, stepMinor = 100n): bigint {
    const steps = Number((maxMinor - minMinor) / stepMinor);
    return minMinor + BigInt(this.int(0, steps)) * stepMinor;
  }

  /** A subset: each item kept with probability p. */
  some<T>(items: readonly T[], p: number): T[] {
    return items.filter(() => this.chance(p));
  }
}
