import type { Pool } from 'pg';
import { createSmokeActivities } from './smoke';

export interface ActivityDeps {
  pool: Pool;
}

/** Every activity, built from its dependencies: the worker passes real clients, tests pass theirs. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSmokeActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
