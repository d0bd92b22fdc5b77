import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { endpointWorkflowId } from '../src/domain/ids.js';
import { nextDelay, waitBeforeRetry } from '../src/domain/retry.js';
import {
  DELIVERY_CANCEL_PATCH,
  DELIVERY_WAITER_ROW_PATCH,
  ENDPOINT_THROTTLE_PATCH,
  LOCAL_ACTIVITIES_PATCH,
  circuitPermitSignal,
  circuitWaitSignal,
  deliveryProgressQuery,
  searchAttributes,
  type AttemptOptions,
  type AttemptResult,
  type CircuitPermit,
  type DeliveryProgress,
  type DeliveryRef,
  type DeliveryStatus,
} from './contract.js';
import { upsertIfIndexed } from './indexing.js';
import { applied } from './patches.js';

const options = {
  // The endpoint timeout is at most 60 s; 15 s more covers reading the event and writing the
  // attempt. A worker that dies mid-attempt has its attempt re-run (at least once).
  startToCloseTimeout: '75 seconds',
  // Activity retries cover infrastructure failures (database down), not HTTP outcomes.
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
} as const;
const remote = proxyActivities<Activities>(options);
const local = proxyLocalActivities<Activities>(options);

/** A waiting delivery registers again this often, in case a permit was lost. */
const CIRCUIT_REREGISTER = '1 hour';

/**
 * Delivers one event to one endpoint under the endpoint's retry policy. Waits between attempts
 * are workflow timers, so they survive any restart; waiting for an open circuit or for a slot
 * under the endpoint's rateLimit spends no attempt.
 * Ends delivered, or as a dead letter; cancelled by an operator, it records that and ends Canceled.
 */
export async function deliveryWorkflow(ref: DeliveryRef): Promise<DeliveryProgress> {
  const progress: DeliveryProgress = {
    status: 'pending',
    attempts: 0,
    lastStatusCode: null,
    lastError: null,
    nextAttemptAt: null,
    run: ref.run ?? 0,
  };
  setHandler(deliveryProgressQuery, () => progress);
  try {
    return await deliverUnderPolicy(ref, progress);
  } catch (err) {
    // Called only on cancellation: the hot path records no patch marker (none at all at PATCH_LEVEL).
    if (isCancellation(err) && applied(ref.patchLevel, DELIVERY_CANCEL_PATCH)) {
      // The cleanup must run although the workflow is cancelled; it reads who cancelled and why.
      await CancellationScope.nonCancellable(() =>
        local.deliveryStopped(ref, {
          attempts: progress.attempts,
          lastStatusCode: progress.lastStatusCode,
          lastError: progress.lastError,
        }),
      );
      progress.status = 'cancelled';
      progress.nextAttemptAt = null;
      upsertIfIndexed([{ key: searchAttributes.deliveryStatus, value: 'cancelled' }]);
    }
    throw err; // the workflow ends Canceled in Temporal
  }
}

/** The attempt loop: the retry policy, the breaker's and the throttle's waits, the dead letter. */
async function deliverUnderPolicy(ref: DeliveryRef, progress: DeliveryProgress): Promise<DeliveryProgress> {
  let permit: CircuitPermit | null = null;
  // The permit heard during the current attempt: the attempt registers the waiter, so the
  // breaker may release it before the workflow sees the attempt's result.
  let heard: CircuitPermit | null = null;
  // An attempt runs as a local activity: its result is one marker event, and the HTTP call starts
  // without a round trip through the server's activity queue. Waits stay durable timers.
  const { deliverAttempt, deadLetter } = applied(ref.patchLevel, LOCAL_ACTIVITIES_PATCH) ? local : remote;
  // Attempts may answer `throttled` (the endpoint's rateLimit) only to a delivery that handles it.
  const throttle = applied(ref.patchLevel, ENDPOINT_THROTTLE_PATCH);
  setHandler(circuitPermitSignal, (p) => void (permit = heard = p));

  const setStatus = (status: DeliveryStatus) => {
    progress.status = status;
    upsertIfIndexed([
      { key: searchAttributes.deliveryStatus, value: status },
      { key: searchAttributes.attempts, value: progress.attempts },
    ]);
  };

  const finish = async (result: AttemptResult | null, reason: string): Promise<DeliveryProgress> => {
    await deadLetter(ref, {
      attempts: progress.attempts,
      reason,
      statusCode: result?.statusCode ?? null,
      error: result?.errorMessage ?? null,
    });
    setStatus('dead_lettered');
    return progress;
  };

  let attempt = 1;
  let probe = false;
  let reserved = false;
  for (;;) {
    heard = null;
    const opts: AttemptOptions = {
      ...(probe && { probe }),
      ...(throttle && { throttle }),
      ...(reserved && { reserved }),
    };
    const result = await deliverAttempt(ref, attempt, opts);
    reserved = false;

    if (result.outcome === 'throttled') {
      // A slot is reserved for this send: wait for it durably, then send without asking again
      // (the same attempt number, still the probe if it was one).
      const wait = result.waitMs ?? 0;
      progress.nextAttemptAt = Date.now() + wait;
      if (progress.status !== 'throttled') setStatus('throttled');
      await sleep(wait);
      progress.nextAttemptAt = null;
      reserved = true;
      continue;
    }
    probe = false;

    if (result.outcome === 'circuit_open') {
      setStatus('waiting_circuit');
      permit = null;
      if (applied(ref.patchLevel, DELIVERY_WAITER_ROW_PATCH)) {
        // The attempt wrote the waiter row (and found the breaker running): nothing to signal.
        permit = heard;
      } else {
        try {
          await getExternalWorkflowHandle(endpointWorkflowId(ref.endpointId)).signal(circuitWaitSignal, {
            workflowId: workflowInfo().workflowId,
          });
        } catch {
          // No breaker runs for the endpoint (its mirror is stale): try as a probe, which reports back.
          permit = 'probe';
        }
      }
      await condition(() => permit !== null, CIRCUIT_REREGISTER);
      probe = permit === 'probe';
      continue; // the same attempt number: waiting spent nothing
    }

    progress.attempts = attempt;
    progress.lastStatusCode = result.statusCode;
    progress.lastError = result.errorMessage;
    progress.nextAttemptAt = null;

    switch (result.outcome) {
      case 'delivered':
        setStatus('delivered');
        return progress;
      case 'gone':
        return finish(result, 'gone: the receiver answered 410, the endpoint is disabled');
      case 'failed':
        return finish(result, 'failed: not retryable');
      case 'retryable': {
        const wait = waitBeforeRetry(nextDelay(result.retry, attempt, Math.random), result.retryAfterMs);
        if (wait === null) return finish(result, `exhausted: ${attempt} attempts`);
        progress.nextAttemptAt = Date.now() + wait;
        setStatus('retrying');
        await sleep(wait);
        attempt++;
      }
    }
  }
}
