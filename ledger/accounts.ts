import { currencyScale } from './currency';
import { LedgerError, toLedgerError } from './errors';
import type { Metadata, Queryable } from './types';

/** Account paths used across the platform (DESIGN.md, Ledger). */
export const accountPath = {
  investorAvailable: (investorId: string) => `investor:${investorId}:available`,
  borrowerAvailable: (borrowerId: string) => `borrower:${borrowerId}:available`,
  loanEscrow: (loanId: string) => `loan:${loanId}:escrow`,
  loanRepayment: (loanId: string) => `loan:${loanId}:repayment`,
  gatewayClearing: (channel: string) => `gateway:${channel}:clearing`,
  platformFees: () => 'platform:fees',
  platformRecoveryReceivable: () => 'platform:recovery-receivable',
  platformSuspense: () => 'platform:suspense',
};

/** Users' money: never below zero, whatever the caller asks. */
const USER_ACCOUNT_TYPES = new Set(['investor', 'borrower']);
const ACCOUNT_PATH = /^[a-z][a-z-]*(:[A-Za-z0-9_.-]+)+$/;

export interface AccountSpec {
  path: string;
  currency: string;
  /** Default: false. User accounts (investor:, borrower:) can never allow it. */
  allowNegative?: boolean;
  /** Balance rows for a hot account (1..64); default 1. */
  balanceSlots?: number;
  metadata?: Metadata;
}

export function validateAccountPath(path: string): void {
  if (typeof path !== 'string' || path.length > 200 || !ACCOUNT_PATH.test(path)) {
    throw new LedgerError(
      'INVALID_INPUT',
      `invalid account path: ${JSON.stringify(path).slice(0, 80)}`,
    );
  }
}

/**
 * Creates the account, or confirms an identical one exists (safe to call twice). Returns its id.
 */
export async function createAccount(db: Queryable, spec: AccountSpec): Promise<string> {
  validateAccountPath(spec.path);
  currencyScale(spec.currency);
  const allowNegative = spec.allowNegative ?? false;
  if (allowNegative && USER_ACCOUNT_TYPES.has(spec.path.split(':')[0])) {
    throw new LedgerError(
      'INVALID_INPUT',
      `user account ${spec.path} can never be allowed to go negative`,
    );
  }
  const slots = spec.balanceSlots ?? 1;
  if (!Number.isInteger(slots) || slots < 1 || slots > 64)
    throw new LedgerError('INVALID_INPUT', `balanceSlots must be 1..64, got ${slots}`);
  try {
    const { rows } = await db.query<{ id: string }>(
      'SELECT ledger_create_account($1, $2, $3, $4, $5) AS id',
      [spec.path, spec.currency, allowNegative, slots, JSON.stringify(spec.metadata ?? {})],
    );
    return rows[0].id;
  } catch (err) {
    throw toLedgerError(err);
  }
}
