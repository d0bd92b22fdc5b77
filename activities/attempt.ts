import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { resolveCircuitConfig } from '../src/domain/circuit.js';
import { deliveryWorkflowId } from '../src/domain/ids.js';
import { resolveRetryConfig } from '../src/domain/retry.js';
import { registerWaiter, unregisterWaiter } from '../src/db/circuit-waiters.js';
import { loadAttemptContext } from '../src/db/attempt-context.js';
import { ensureDelivery, recordAttempt, setDeliveryStatus } from '../src/db/deliveries.js';
import { disableEndpoint } from '../src/db/endpoints.js';
import type { Db } from '../src/db/pool.js';
import { askThrottle } from '../src/db/throttle.js';
import type { Metrics } from '../src/metrics.js';
import type { PluginHost } from '../src/plugins/host.js';
import type { AttemptOptions, AttemptResult, DeliveryRef } from '../workflows/contract.js';
import { askBreaker, breakerNeedsToHear, tellBreaker } from './breaker.js';
import { postWebhook, type HttpAttempt } from './http-post.js';
import { notifyAttempt } from './notifications.js';
import { currentRunId, writeAsOwner } from './ownership.js';

export interface AttemptDeps {
  db: Db;
  /** The HTTP agent deliveries go through (its connect checks SSRF). */
  dispatcher: Dispatcher;
  allowPrivateNetworks: boolean;
  /** Reaches the endpoint's breaker workflow (signal-with-start is a client call). */
  temporal: Client;
  taskQueue: string;
  metrics?: Metrics | undefined;
  log?: Logger | undefined;
  plugins?: PluginHost | undefined;
}

const notSent = (errorMessage: string): HttpAttempt => ({
  outcome: 'failed',
  statusCode: null,
  errorClass: 'config',
  errorMessage,
  responseBody: null,
  responseHeaders: null,
  durationMs: 0,
  retryAfterMs: null,
});

const withoutRecord = ({ responseBody: _b, responseHeaders: _h, ...rest }: HttpAttempt) => rest;

/** The delivery workflow's attempt: one signed POST, recorded, counted, reported. */
export function createAttemptActivities({
  db,
  dispatcher,
  allowPrivateNetworks,
  temporal,
  taskQueue,
  metrics,
  log,
  plugins,
}: AttemptDeps) {
  return {
    /**
     * One signed POST of the event to the endpoint, recorded as attempt `attempt` — unless the
     * endpoint's circuit is open and this is not its probe, or its rateLimit gives this send a
     * later slot: then nothing is sent.
     */
    async deliverAttempt(
      ref: DeliveryRef,
      attempt: number,
      opts: AttemptOptions = {},
    ): Promise<AttemptResult> {
      const run = ref.run ?? 0;
      const deliveryId = deliveryWorkflowId(ref.eventId, ref.endpointId);
      // Attempts are keyed by the Temporal run too: a reset run's attempt 1 is not the old run's.
      const workflowRunId = currentRunId();
      // One statement reads the event, the endpoint and its circuit mirror.
      const { event, endpoint, circuit: mirror } = await loadAttemptContext(db, ref);
      const retry = resolveRetryConfig(endpoint?.retryConfig);
      // Its application was deleted meanwhile (the cascade removed the event): nothing to send.
      if (!event) return { ...withoutRecord(notSent('the event no longer exists')), attempt, retry };
      // A routed delivery's row exists (its routing claimed it): one write per attempt, not two.
      if (!ref.routed) {
        await ensureDelivery(db, {
          id: deliveryId,
          eventId: ref.eventId,
          applicationId: ref.applicationId,
          endpointId: ref.endpointId,
          run,
        });
      }

      let probe = opts.probe ?? false;
      if (endpoint?.enabled && !probe && mirror && mirror.state !== 'closed') {
        // The waiter row is the registration (the delivery does not signal the breaker).
        await Promise.all([
          writeAsOwner(temporal, deliveryId, workflowRunId, (force) =>
            setDeliveryStatus(db, deliveryId, run, 'waiting_circuit', { workflowRunId, force }),
          ),
          registerWaiter(db, endpoint.id, deliveryId),
        ]);
        if ((await askBreaker(temporal, endpoint.id, deliveryId, mirror)) === 'no breaker') {
          // No breaker runs for the endpoint (its mirror is stale): try as a probe, which reports
          // back and so starts one.
          await unregisterWaiter(db, endpoint.id, deliveryId);
          probe = true;
        }
      }
      if (endpoint?.enabled && !probe && mirror && mirror.state !== 'closed') {
        return {
          outcome: 'circuit_open',
          statusCode: null,
          errorClass: null,
          errorMessage: `circuit ${mirror.state}`,
          durationMs: 0,
          retryAfterMs: null,
          attempt,
          retry,
        };
      }

      // Throttle (rateLimit): every send (first attempt, retry, probe) reserves a slot on the
      // endpoint's schedule in PostgreSQL and goes only with a send token. A wait is the workflow's
      // durable timer: nothing is sent or recorded as an attempt, and the ask after it (`reserved`)
      // reserves no second slot. Only for a workflow that handles `throttled`; an unthrottled
      // endpoint costs nothing here.
      if (opts.throttle && endpoint?.enabled && endpoint.rateLimit) {
        const { waitMs } = await askThrottle(db, endpoint.id, endpoint.rateLimit, {
          reserved: opts.reserved === true,
        });
        if (waitMs > 0) {
          // Once per wait for a slot (a wait for a token after it changes nothing visible).
          if (!opts.reserved)
            await writeAsOwner(temporal, deliveryId, workflowRunId, (force) =>
              setDeliveryStatus(db, deliveryId, run, 'throttled', { workflowRunId, force }),
            );
          metrics?.deliveryThrottled(endpoint.id, waitMs / 1000);
          return {
            outcome: 'throttled',
            statusCode: null,
            errorClass: null,
            errorMessage: `throttled: ${endpoint.rateLimit.perSecond}/s, burst ${endpoint.rateLimit.burst}`,
            durationMs: 0,
            retryAfterMs: null,
            attempt,
            retry,
            waitMs,
          };
        }
      }

      const startedAt = new Date();
      const http: HttpAttempt = !endpoint
        ? notSent('the endpoint was deleted')
        : !endpoint.enabled
          ? notSent(
              `the endpoint is disabled${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`,
            )
          : await postWebhook(dispatcher, event, endpoint, allowPrivateNetworks);
      // A 410 ends the delivery as failed (its dead letter follows in the same run).
      const status =
        http.outcome === 'retryable' ? 'retrying' : http.outcome === 'gone' ? 'failed' : http.outcome;
      const record = {
        deliveryId,
        run,
        workflowRunId,
        attempt,
        startedAt,
        durationMs: http.durationMs,
        outcome: http.outcome,
        statusCode: http.statusCode,
        errorClass: http.errorClass,
        errorMessage: http.errorMessage,
        responseBody: http.responseBody,
        responseHeaders: http.responseHeaders,
      };
      await writeAsOwner(temporal, deliveryId, workflowRunId, (force) =>
        recordAttempt(db, record, status, { force }),
      );
      const sent = endpoint?.enabled === true && http.errorClass !== 'config';
      if (sent) {
        const status = http.statusCode !== null ? String(http.statusCode) : (http.errorClass ?? 'error');
        metrics?.attemptSent(endpoint.id, attempt, status, http.durationMs / 1000);
      }
      log?.info(
        {
          workflowId: Context.current().info.workflowExecution?.workflowId,
          deliveryId,
          run,
          attempt,
          probe,
          outcome: http.outcome,
          statusCode: http.statusCode,
          errorClass: http.errorClass,
          durationMs: http.durationMs,
        },
        'delivery attempt',
      );
      if (plugins && sent) notifyAttempt(plugins, { event, endpoint, deliveryId, attempt, http, retry });
      if (endpoint && http.outcome === 'gone') {
        await disableEndpoint(db, endpoint.id, `the receiver answered 410 Gone to ${deliveryId}`);
      }
      if (sent && http.errorClass !== 'ssrf' && breakerNeedsToHear(http.outcome, mirror, probe)) {
        await tellBreaker(temporal, taskQueue, endpoint.id, resolveCircuitConfig(endpoint.circuitBreaker), {
          key: `${deliveryId}:${workflowRunId}:${attempt}`,
          ok: http.outcome !== 'retryable',
          probe,
        });
      }
      return { ...withoutRecord(http), attempt, retry };
    },
  };
}
