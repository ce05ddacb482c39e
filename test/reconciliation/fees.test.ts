// The fee schedule exists twice: gateway/fees.ts (the simulator charges it) and the SQL function
// reconciliation matches with. A property: they agree for every kind and amount.
import fc from 'fast-check';
import { feeMinor } from '../../gateway/fees';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();

it('gateway_expected_fee in SQL equals gateway/fees.ts', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('PAYOUT' as const, 'COLLECTION' as const),
      fc.bigInt({ min: 1n, max: 10n ** 15n }),
      fc.constantFrom(['CNY', 2], ['JPY', 0]) as fc.Arbitrary<[string, number]>,
      async (kind, amount, [currency, scale]) => {
        const { rows } = await db.pool.query<{ fee: string }>(
          'SELECT gateway_expected_fee($1, $2, $3::smallint)::text AS fee',
          [kind, amount.toString(), scale],
        );
        expect(BigInt(rows[0].fee)).toBe(feeMinor(kind, amount, currency));
      },
    ),
    { numRuns: 300 },
  );
});
