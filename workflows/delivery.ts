import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities, DeliveryRef } from '../activities/index.js';
import {
  deliveryProgressQuery,
  searchAttributes,
  upsertIfIndexed,
  type DeliveryProgress,
} from './definitions.js';

const { deliverAttempt } = proxyActivities<Activities>({
  // The HTTP timeout is at most a minute; the margin covers reading the event and writing the attempt.
  startToCloseTimeout: '90 seconds',
  // Activity retries cover infrastructure failures (database down), not HTTP outcomes.
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/** Delivers one event to one endpoint. Thin for now: a single attempt, its outcome recorded. */
export async function deliveryWorkflow(ref: DeliveryRef): Promise<DeliveryProgress> {
  const progress: DeliveryProgress = {
    status: 'delivering',
    attempts: 0,
    lastStatusCode: null,
    lastError: null,
  };
  setHandler(deliveryProgressQuery, () => progress);

  const result = await deliverAttempt(ref, 1);
  progress.attempts = result.attempt;
  progress.lastStatusCode = result.statusCode;
  progress.lastError = result.errorMessage;
  progress.status =
    result.outcome === 'delivered' ? 'delivered' : result.outcome === 'gone' ? 'gone' : 'failed';
  upsertIfIndexed([
    { key: searchAttributes.deliveryStatus, value: progress.status },
    { key: searchAttributes.attempts, value: progress.attempts },
  ]);
  return progress;
}
