// What the workflow tests on Temporal's time-skipping test server share: the environment (the
// project's installed test server, never a download) and activities that do nothing.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../activities/index.js';
import { NO_COUNTS } from '../../src/db/fanout.js';
import { requireBinary } from '../../src/temporal/binaries.js';
import { installRuntime } from '../../src/temporal/worker.js';

export async function timeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  installRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: requireBinary('testServer') } },
  });
}

/** Every activity, doing nothing (`deliverAttempt` as given); a test overrides the ones it needs. */
export function noopActivities(deliverAttempt: Activities['deliverAttempt']): Activities {
  return {
    matchEndpoints: async () => [],
    deliverAttempt,
    deadLetter: async () => {},
    deliveryStopped: async () => {},
    recordEventOutcome: async () => {},
    publishCircuitState: async () => {},
    claimReplayRuns: async () => ({}),
    releaseWaiters: async () => ({ released: 0, stopped: false }),
    offerProbe: async () => null,
    adoptWaiters: async () => 0,
    routePage: async () => ({ start: [], skipped: 0, cursor: null, counts: NO_COUNTS }),
    fanoutCounts: async () => NO_COUNTS,
    stopFanout: async () => 0,
    purgeExpiredEvents: async () => ({
      deleted: { events: 0, deliveries: 0, attempts: 0, deadLetters: 0 },
      resumeAt: null,
    }),
  };
}
