// Where the local stack's parts are when the environment does not say (scripts/env.sh sets the
// same): the development cluster on its own port, the dev server, the simulator, the API. For the
// demo, the benchmarks and the tests; the processes themselves take their settings from
// config/env.ts.
const PG_HOST = process.env.PG_HOST ?? '127.0.0.1';
export const LOCAL_PG_PORT = process.env.PG_PORT ?? '55432';
const database = (user: string) =>
  `postgres://${user}@${PG_HOST}:${LOCAL_PG_PORT}/${process.env.PG_DATABASE ?? 'lending'}`;

/** The application's login (what the API, worker and dispatcher use). */
export const localDatabaseUrl = () => process.env.DATABASE_URL ?? database('lending_app');
/** The schema owner's login (migrations, and tools that create or seed tables). */
export const localOwnerDatabaseUrl = () =>
  process.env.MIGRATION_DATABASE_URL ?? database('postgres');
export const localTemporalAddress = () => process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
export const localGatewayUrl = () =>
  process.env.GATEWAY_URL ?? `http://127.0.0.1:${process.env.GATEWAY_PORT ?? '4100'}`;
export const localApiUrl = () =>
  process.env.API_URL ?? `http://127.0.0.1:${process.env.API_PORT ?? '3000'}`;
