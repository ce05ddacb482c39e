// Our order numbers at the gateway: a function of the business id alone, so a retried step can
// never mint a second order for the same money.
import { createHash } from 'node:crypto';
import { ORDER_NO_PATTERN } from '../gateway/protocol';

/** `id` itself when the gateway accepts it, otherwise `prefix` and a digest of it. */
export function orderNoFor(id: string, prefix: string): string {
  if (ORDER_NO_PATTERN.test(id)) return id;
  return `${prefix}-${createHash('sha256').update(id).digest('hex').slice(0, 48)}`;
}
