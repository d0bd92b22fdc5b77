import { createAttemptActivities, type AttemptDeps } from './attempt.js';
import { createBreakerActivities } from './breaker.js';
import { createDeadLetterActivities } from './dead-letter.js';
import { createRetentionActivities } from './retention.js';
import { createRoutingActivities } from './routing.js';

export type ActivityDeps = AttemptDeps;

/**
 * Every activity the worker registers, each concern built by its own factory over injected deps.
 * Activities return data for expected outcomes and throw only when infrastructure fails
 * (database down), so Temporal retries them. Their names are part of recorded histories.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createRoutingActivities(deps),
    ...createAttemptActivities(deps),
    ...createDeadLetterActivities(deps),
    ...createBreakerActivities(deps),
    ...createRetentionActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
