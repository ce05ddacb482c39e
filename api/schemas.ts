// JSON schemas shared by routes. Bodies reject unknown fields; money travels as strings.

export const PARTY_ID = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
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
