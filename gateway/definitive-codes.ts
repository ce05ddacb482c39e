/**
 * The gateway failure codes that mean "not executed, and it never will be under this order
 * number". Only these end a payout as FAILED (hold voided). Every other code — including codes
 * the gateway invents tomorrow — is an unknown outcome that must be queried (DESIGN.md,
 * "Gateway outcomes"). Adding a code here is a money decision: document it in gateway/README.md.
 */
export const DEFINITIVE_FAILURE_CODES = Object.freeze({
  INSUFFICIENT_FUNDS: 'the paying account has too little money',
  INVALID_ACCOUNT: 'the account number does not exist at the bank',
  ACCOUNT_FROZEN: 'the account is frozen by the bank or a court',
  ACCOUNT_CLOSED: 'the account has been closed',
  ACCOUNT_NAME_MISMATCH: 'the account holder name does not match the account',
  LIMIT_EXCEEDED: 'a single or daily limit of the account or channel was exceeded',
  REJECTED: "refused by the gateway's or the bank's risk control",
} as const);

export type DefinitiveFailureCode = keyof typeof DEFINITIVE_FAILURE_CODES;

export function isDefinitiveFailureCode(code: string): code is DefinitiveFailureCode {
  return Object.hasOwn(DEFINITIVE_FAILURE_CODES, code);
}

/**
 * Codes the simulator can answer that are deliberately NOT definitive: a real PSP returns them
 * for transfers that may still complete (or that already did). Listed for tests and docs only.
 */
export const AMBIGUOUS_FAILURE_CODES = Object.freeze([
  'SYSTEM_BUSY',
  'BANK_TIMEOUT',
  'UNKNOWN_ERROR',
] as const);
