import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  Runtime,
  DefaultLogger,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { SearchAttributes } from '../../workflows/contracts/common';
import { TEMPORAL_BIN, TEMPORAL_TEST_SERVER_BIN } from './settings';

// Keep test output readable: the SDK's core logs only warnings and errors.
Runtime.install({ logger: new DefaultLogger('WARN') });

/** The time-skipping test server on the pinned binary: timers of days finish in milliseconds. */
export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: TEMPORAL_TEST_SERVER_BIN } },
  });
}

/**
 * A real Temporal dev server (in memory, its own free port), with the project's search attributes.
 */
export function createDevServerEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: TEMPORAL_BIN },
      searchAttributes: Object.values(SearchAttributes),
      log: { format: 'pretty', level: 'error' },
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file (webpack takes about a second). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  return bundle;
}
