// One ApiError for the server's refusals and for a client reading them back (api/errors.ts).
import { apiErrorFromResponse, ApiError, errorBody, toApiError } from '../../api/errors';
import { LedgerError } from '../../ledger/errors';
import { MoneyError } from '../../ledger/currency';

describe('ApiError', () => {
  it('is what a client reads back from a refusal: status, code and details of the body', () => {
    const err = apiErrorFromResponse(
      409,
      errorBody('INSUFFICIENT_FUNDS', 'not enough', { availableMinor: '5' }),
      'POST /v1/x',
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({
      statusCode: 409,
      code: 'INSUFFICIENT_FUNDS',
      details: { availableMinor: '5' },
    });
    expect(err.message).toContain('POST /v1/x: HTTP 409');
  });

  it('names a response without an error body by its status', () => {
    expect(apiErrorFromResponse(502, {}, 'GET /v1/y')).toMatchObject({
      statusCode: 502,
      code: 'HTTP_502',
      details: {},
    });
    expect(apiErrorFromResponse(500, null, 'GET /v1/y')).toMatchObject({ code: 'HTTP_500' });
  });

  it('maps the money and ledger refusals to 4xx with their own codes, and a lost database to 503', () => {
    expect(toApiError(new MoneyError('AMOUNT_ZERO', 'zero'))).toMatchObject({
      statusCode: 400,
      code: 'AMOUNT_ZERO',
    });
    expect(toApiError(new LedgerError('INSUFFICIENT_FUNDS', 'no'))).toMatchObject({
      statusCode: 409,
      code: 'INSUFFICIENT_FUNDS',
    });
    expect(toApiError(Object.assign(new Error('gone'), { code: '57P01' }))).toMatchObject({
      statusCode: 503,
      code: 'DATABASE_UNAVAILABLE',
    });
    expect(toApiError(new Error('something else'))).toBeUndefined();
  });
});
