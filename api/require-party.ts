// The one check that a party exists and is of the kind a route expects: 404 otherwise (as for
// another party's resource, so ids cannot be probed by kind either).
import type { Queryable } from '../ledger/types';
import { ApiError } from './errors';

export async function requireParty(
  db: Queryable,
  id: string,
  kind: 'investor' | 'borrower',
): Promise<void> {
  const { rowCount } = await db.query('SELECT 1 FROM parties WHERE id = $1 AND kind = $2', [
    id,
    kind,
  ]);
  if (rowCount === 0) throw new ApiError(404, 'NOT_FOUND', `no ${kind} ${id}`);
}
