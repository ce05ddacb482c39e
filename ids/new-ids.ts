// Ids the platform mints at random when a request creates something new: 80 bits or more, so two
// requests never meet; the request's Idempotency-Key, not the id, makes a retry find the first.
// Their shapes (a prefix, "_" and lowercase hex) are part of the id contract (ids/limits.ts).
import { randomBytes } from 'node:crypto';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

export const newIds = {
  /** A party created without an id of the client's: `inv_…` or `bor_…`. */
  party: (kind: 'investor' | 'borrower') => `${kind.slice(0, 3)}_${hex(8)}`,
  loan: () => `loan_${hex(8)}`,
  subscription: () => `sub_${hex(10)}`,
  deposit: () => `dep_${hex(10)}`,
  /** A withdrawal is a payout: its id is the payout's. */
  withdrawal: () => `wd_${hex(10)}`,
  /** A recovery an operator opens by hand (not from an exception). */
  manualRecovery: () => `rc-m${hex(8)}`,
} as const;
