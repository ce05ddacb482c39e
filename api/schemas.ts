// JSON schemas shared by routes. Bodies reject unknown fields; money travels as strings.
import { CLIENT_ID_MAX, CLIENT_ID_PATTERN } from '../ids/limits';
import { PAYOUT_ID_MAX } from '../ids/derived';

/** An id a client supplies: a loan, an investor, a borrower. */
export const PARTY_ID = {
  type: 'string',
  pattern: CLIENT_ID_PATTERN,
  description: `1–${CLIENT_ID_MAX} characters of [A-Za-z0-9_-]`,
} as const;

/**
 * A payout id as the platform derives it (ids/derived.ts): scheduled, withdrawal or disbursement.
 */
export const PAYOUT_ID = {
  type: 'string',
  pattern: `^[A-Za-z0-9_-]{1,${PAYOUT_ID_MAX}}$`,
  description: `a payout id: 1–${PAYOUT_ID_MAX} characters of [A-Za-z0-9_-]`,
} as const;

/**
 * The workflow of a payment that can wait for review: its kind's prefix and its id
 * (ids/workflow-ids.ts).
 */
export const REVIEWABLE_WORKFLOW_ID = {
  type: 'string',
  pattern: `^(deposit|payout|repayment|recovery)-[A-Za-z0-9_-]{1,${PAYOUT_ID_MAX}}$`,
  description: `deposit-, payout-, repayment- or recovery- and the id: at most ${'repayment-'.length + PAYOUT_ID_MAX} characters`,
} as const;

const idSchema = (pattern: string, description: string) => ({
  type: 'string' as const,
  pattern,
  description,
});

/**
 * Every id's contract, in the OpenAPI document's components (docs/ids.md has the same table):
 * what a client may supply, and what the platform makes, with each one's characters and length.
 */
export const ID_COMPONENT_SCHEMAS = {
  ClientId: idSchema(
    CLIENT_ID_PATTERN,
    `a loan, investor or borrower id supplied by a client: 1–${CLIENT_ID_MAX} characters of [A-Za-z0-9_-]; anything else is 422 INVALID_ID`,
  ),
  SubscriptionId: idSchema(
    '^sub_[0-9a-f]{20}$',
    'made by the platform: sub_ and 20 hex (24 characters)',
  ),
  DepositId: idSchema(
    '^dep_[0-9a-f]{20}$',
    'made by the platform: dep_ and 20 hex (24 characters); also its order number',
  ),
  PayoutId: idSchema(
    `^[A-Za-z0-9_-]{1,${PAYOUT_ID_MAX}}$`,
    `made by the platform: wd_ and 20 hex (a withdrawal), disb-{loanId} (a disbursement, at most 69), or {loanId}-{n}-{investorId}-{interest|principal}, length-prefixed as -{len}-… for a loan id with a dash (at most 147); at most ${PAYOUT_ID_MAX}`,
  ),
  RecoveryId: idSchema(
    '^rc-(m[0-9a-f]{16}|[0-9]{1,18})$',
    'made by the platform: rc-{exception number} or rc-m and 16 hex (at most 21 characters)',
  ),
  OrderNo: idSchema(
    '^[A-Za-z0-9_-]{1,64}$',
    'the order number the gateway knows an order by: the business id when it fits, else po-/dp-/rp-/rq- and 48 hex of its SHA-256',
  ),
  WorkflowId: idSchema(
    `^[a-z-]+-[A-Za-z0-9_-]{1,${PAYOUT_ID_MAX}}$`,
    `loan-{loanId}, subscription-{id}, repayment-{loanId}-{n}, payout-run-{loanId}-{n}, payout-{payoutId}, deposit-{id}, recon-{channel}-{date}, recovery-{id}: at most ${'payout-'.length + PAYOUT_ID_MAX} characters`,
  ),
} as const;

interface AjvError {
  keyword?: string;
  instancePath?: string;
  params?: { pattern?: string };
}

/**
 * The contract a refused id breaks, in words: from its pattern when it is a plain `^[chars]{1,N}$`.
 */
function contractOf(pattern: string | undefined): string {
  const plain = pattern ? /^\^\[([^\]]+)\]\{1,(\d+)\}\$$/.exec(pattern) : null;
  if (plain) return `1 to ${plain[2]} characters of [${plain[1]}]`;
  return pattern ? `an id matching ${pattern}` : 'an id (a string)';
}

/**
 * The field whose id was refused, and the contract it breaks, when the first validation error is
 * about an id (an id field or path parameter of the wrong shape or length): such a refusal is
 * 422 INVALID_ID, not 400.
 */
export function invalidIdField(
  validation: unknown,
): { field: string; contract: string } | undefined {
  const first = Array.isArray(validation) ? (validation[0] as AjvError | undefined) : undefined;
  if (!first || (first.keyword !== 'pattern' && first.keyword !== 'type')) return undefined;
  const field = (first.instancePath ?? '').split('/').pop() ?? '';
  if (!/^(id|[a-z][A-Za-z]*Id)$/.test(field)) return undefined;
  return {
    field,
    contract: contractOf(first.keyword === 'pattern' ? first.params?.pattern : undefined),
  };
}

/** Shape only; parseAmount() gives the precise refusal (exponent, decimals, sign...). */
export const AMOUNT = { type: 'string', minLength: 1, maxLength: 40 } as const;
export const CURRENCY = { type: 'string', pattern: '^[A-Z]{3}$' } as const;

export const ERROR_RESPONSE = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

/**
 * The error responses every authenticated route can give, for the OpenAPI document (422: an id that
 * breaks its contract).
 */
export const AUTH_ERRORS = {
  400: ERROR_RESPONSE,
  401: ERROR_RESPONSE,
  403: ERROR_RESPONSE,
  404: ERROR_RESPONSE,
  422: ERROR_RESPONSE,
  429: ERROR_RESPONSE,
} as const;

export const IDEMPOTENCY_HEADERS = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' } },
  required: ['idempotency-key'],
} as const;

/**
 * An operator's decision: honoured when sent (a retry replays the first answer, api/decisions.ts),
 * not required.
 */
export const DECISION_IDEMPOTENCY_HEADERS = {
  type: 'object',
  properties: { 'idempotency-key': IDEMPOTENCY_HEADERS.properties['idempotency-key'] },
} as const;
