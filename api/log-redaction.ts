// What the API's logs never contain (pino redaction paths): credentials, signatures, and the
// bank account numbers in request bodies. A test greps a full run's logs for each.
export const LOG_REDACTIONS = [
  'req.headers.authorization',
  'req.headers["idempotency-key"]',
  'req.headers.cookie',
  'req.headers["x-gateway-signature"]',
  'req.body.accountNo',
  'req.body.account.accountNo',
  'req.body.bankAccount.accountNo',
  'req.body.key',
  'res.body.key',
];
