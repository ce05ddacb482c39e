// JSON schemas shared by routes. Bodies reject unknown fields; money travels as strings.
import { CLIENT_ID_MAX, CLIENT_ID_PATTERN } from '../ids/limits';
import { PAYOUT_ID_MAX } from '../ids/derived';

/** What every id a client supplies must be; a refusal says it (422 INVALID_ID). */
export const ID_CONTRACT_TEXT = `1 to ${CLIENT_ID_MAX} characters of A-Z, a-z, 0-9, _ and - (derived ids as the platform made them)`;

/** An id a client supplies: a loan, an investor, a borrower. */
export const PARTY_ID = { type: 'string', pattern: CLIENT_ID_PATTERN, description: `1–${CLIENT_ID_MAX} characters of [A-Za-z0-9_-]` } as const;

/** A payout id as the platform derives it (ids/derived.ts): scheduled, withdrawal or disbursement. */
export const PAYOUT_ID = { type: 'string', pattern: `^[A-Za-z0-9_-]{1,${PAYOUT_ID_MAX}}$`, description: `a payout id: 1–${PAYOUT_ID_MAX} characters of [A-Za-z0-9_-]` } as const;

/** The workflow of a payment that can wait for review: its kind's prefix and its id (ids/workflow-ids.ts). */
export const REVIEWABLE_WORKFLOW_ID = {
  type: 'string', pattern: `^(deposit|payout|repayment|recovery)-[A-Za-z0-9_-]{1,${PAYOUT_ID_MAX}}$`,
  description: `deposit-, payout-, repayment- or recovery- and the id: at most ${'repayment-'.length + PAYOUT_ID_MAX} characters`,
} as const;

interface AjvError { keyword?: string; instancePath?: string; params?: { pattern?: string } }

/**
 * The field whose id was refused, when the first validation error is about an id (an id field
 * or path parameter of the wrong shape or length): such a refusal is 422 INVALID_ID, not 400.
 */
export function invalidIdField(validation: unknown): string | undefined {
  const first = Array.isArray(validation) ? (validation[0] as AjvError | undefined) : undefined;
  if (!first || (first.keyword !== 'pattern' && first.keyword !== 'type')) return undefined;
  const field = (first.instancePath ?? '').split('/').pop() ?? '';
  return /^(id|[a-z][A-Za-z]*Id)$/.test(field) ? field : undefined;
}
/** Shape only; parseAmount() gives the precise refusal (exponent, decimals, sign...). */
export const AMOUNT = { type: 'string', minLength: 1, maxLength: 40 } as const;
export const CURRENCY = { type: 'string', pattern: '^[A-Z]{3}$' } as const;

export const ERROR_RESPONSE = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

/** The error responses every authenticated route can give, for the OpenAPI document. */
export const AUTH_ERRORS = { 400: ERROR_RESPONSE, 401: ERROR_RESPONSE, 403: ERROR_RESPONSE, 404: ERROR_RESPONSE, 429: ERROR_RESPONSE } as const;

export const IDEMPOTENCY_HEADERS = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' } },
  required: ['idempotency-key'],
} as const;
