// The environment a database belongs to (migration 0012): recorded by the first migration run,
// checked by every process before it does anything else, so a staging process can never write to
// a production database or the reverse.
import type { Queryable } from '../ledger/types';

export class EnvironmentMismatch extends Error {
  override readonly name = 'EnvironmentMismatch';
}

async function recorded(db: Queryable): Promise<string | undefined> {
  const { rows } = await db.query<{ environment: string }>(
    'SELECT environment FROM app_environment',
  );
  return rows[0]?.environment;
}

/** After migrating: records `appEnv` if nothing is recorded yet, and refuses if another one is. */
export async function recordEnvironment(db: Queryable, appEnv: string): Promise<void> {
  await db.query(
    'INSERT INTO app_environment (environment) VALUES ($1) ON CONFLICT (singleton) DO NOTHING',
    [appEnv],
  );
  await assertEnvironment(db, appEnv);
}

/** Before serving: the database must be this environment's. */
export async function assertEnvironment(db: Queryable, appEnv: string): Promise<void> {
  const env = await recorded(db);
  if (env === undefined)
    throw new EnvironmentMismatch(
      'the database records no environment: run the migrations first (npm run migrate)',
    );
  if (env !== appEnv)
    throw new EnvironmentMismatch(
      `the database belongs to ${env}, but APP_ENV is ${appEnv}: refusing to start`,
    );
}
