import type { Client } from '@temporalio/client';
import type { AppContext } from './app';
import { ApiError } from './errors';

/**
 * The Temporal client of routes that start, signal or update workflows; 503 when the API runs
 * without one.
 */
export function temporalOf(context: AppContext): Client {
  if (!context.temporal)
    throw new ApiError(503, 'TEMPORAL_UNAVAILABLE', 'this API runs without a Temporal connection');
  return context.temporal;
}

/**
 * Why a workflow refused an update: the innermost cause (the handler's refusal, or an activity's
 * final failure).
 */
export function refusalMessage(err: Error): string {
  let e: Error = err;
  while (e.cause instanceof Error) e = e.cause;
  return e.message;
}
