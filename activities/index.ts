import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { resolveCircuitConfig, type CircuitConfig } from '../src/domain/circuit.js';
import { deliveryWorkflowId, endpointWorkflowId } from '../src/domain/ids.js';
import { resolveRetryConfig, type RetryConfig } from '../src/domain/retry.js';
import { matchesFilter } from '../src/domain/filters.js';
import { subscribes } from '../src/domain/routing.js';
import { endpointRef, getCircuit, publishCircuit, type CircuitMirror } from '../src/db/circuits.js';
import { insertDeadLetter } from '../src/db/dead-letters.js';
import { claimNextRun, ensureDelivery, recordAttempt, setDeliveryStatus } from '../src/db/deliveries.js';
import { disableEndpoint, getEndpoint, listEnabledEndpoints } from '../src/db/endpoints.js';
import { getEvent, setEventStatus, type EventStatus, type StoredEvent } from '../src/db/events.js';
import { newId } from '../src/db/ids.js';
import type { Db } from '../src/db/pool.js';
import type { Metrics } from '../src/metrics.js';
import type { PluginHost } from '../src/plugins/host.js';
import type { BreakerOutcome, EndpointWorkflowInput } from '../workflows/definitions.js';
import { postWebhook, type HttpAttempt } from './deliver.js';

export interface ActivityDeps {
  db: Db;
  dispatcher: Dispatcher;
  allowPrivateNetworks: boolean;
  /** Reaches the endpoint's breaker workflow (signal-with-start is a client call). */
  temporal: Client;
  taskQueue: string;
  metrics?: Metrics;
  log?: Logger;
  /** Plugin hooks, fired (never awaited) after the attempt is recorded. */
  plugins?: PluginHost;
}

export interface EventRef {
  eventId: string;
  applicationId: string;
  eventType: string;
  /** A replay of the event: every matched delivery starts a new run with fresh attempts. */
  replay?: boolean;
}

export interface DeliveryRef {
  eventId: string;
  applicationId: string;
  endpointId: string;
  /** 0 for the original delivery, 1.. for replays of its dead letter. */
  run?: number;
}

export type AttemptResult = Omit<HttpAttempt, 'responseBody' | 'responseHeaders' | 'outcome'> & {
  /** `circuit_open`: not sent, no attempt spent; the endpoint's breaker is open. */
  outcome: HttpAttempt['outcome'] | 'circuit_open';
  attempt: number;
  /** The endpoint's retry policy as it is now (the workflow applies it). */
  retry: RetryConfig;
};

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

/** What filter paths address: `type`, `source`, `payload.…`, `tags`. */
function filterSubject(event: StoredEvent) {
  return {
    type: event.type,
    source: event.source,
    payload: JSON.parse(event.body) as unknown,
    tags: event.tags,
  };
}

/** A breaker that has seen failures (or is not closed) hears about every outcome; a clean one, only failures. */
function breakerNeedsToHear(
  outcome: HttpAttempt['outcome'],
  mirror: CircuitMirror | undefined,
  probe: boolean,
) {
  if (probe || outcome === 'retryable') return true;
  return mirror !== undefined && (mirror.state !== 'closed' || mirror.consecutiveFailures > 0);
}

/**
 * Activities: all I/O of a delivery. They return data for expected outcomes and throw only when
 * infrastructure fails (database down), so Temporal retries them.
 */
export function createActivities({
  db,
  dispatcher,
  allowPrivateNetworks,
  temporal,
  taskQueue,
  metrics,
  log,
  plugins,
}: ActivityDeps) {
  async function tellBreaker(
    endpointId: string,
    config: CircuitConfig,
    outcome: BreakerOutcome,
  ): Promise<void> {
    const input: EndpointWorkflowInput = { endpointId, config };
    await temporal.workflow.signalWithStart('endpointWorkflow', {
      workflowId: endpointWorkflowId(endpointId),
      taskQueue,
      args: [input],
      signal: 'endpointWorkflow.outcome',
      signalArgs: [outcome],
    });
  }

  return {
    /** Endpoint ids of the application subscribed to the event's type. */
    async matchEndpoints(ref: EventRef): Promise<string[]> {
      const [endpoints, event] = await Promise.all([
        listEnabledEndpoints(db, ref.applicationId),
        getEvent(db, ref.eventId, ref.applicationId),
      ]);
      if (!event) return []; // its application was deleted meanwhile
      const subject = filterSubject(event);
      const matched = endpoints
        .filter((e) => subscribes(e.events, ref.eventType) && matchesFilter(e.filters, subject))
        .map((e) => e.id);
      await setEventStatus(db, ref.eventId, 'routing', matched.length);
      return matched;
    },

    /**
     * One signed POST of the event to the endpoint, recorded as attempt `attempt` — unless the
     * endpoint's circuit is open and this is not its probe: then nothing is sent.
     */
    async deliverAttempt(
      ref: DeliveryRef,
      attempt: number,
      opts: { probe?: boolean } = {},
    ): Promise<AttemptResult> {
      const run = ref.run ?? 0;
      const probe = opts.probe ?? false;
      const deliveryId = deliveryWorkflowId(ref.eventId, ref.endpointId);
      const [event, endpoint, mirror] = await Promise.all([
        getEvent(db, ref.eventId, ref.applicationId),
        getEndpoint(db, ref.applicationId, ref.endpointId),
        getCircuit(db, ref.endpointId),
      ]);
      const retry = resolveRetryConfig(endpoint?.retryConfig);
      // Its application was deleted meanwhile (the cascade removed the event): nothing to send.
      if (!event) return { ...withoutRecord(notSent('the event no longer exists')), attempt, retry };
      await ensureDelivery(db, {
        id: deliveryId,
        eventId: ref.eventId,
        applicationId: ref.applicationId,
        endpointId: ref.endpointId,
        run,
      });

      if (endpoint?.enabled && !probe && mirror && mirror.state !== 'closed') {
        await setDeliveryStatus(db, deliveryId, run, 'waiting_circuit');
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

      const startedAt = new Date();
      const http: HttpAttempt = !endpoint
        ? notSent('the endpoint was deleted')
        : !endpoint.enabled
          ? notSent(
              `the endpoint is disabled${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`,
            )
          : await postWebhook(dispatcher, event, endpoint, allowPrivateNetworks);
      await recordAttempt(
        db,
        {
          deliveryId,
          run,
          attempt,
          startedAt,
          durationMs: http.durationMs,
          outcome: http.outcome,
          statusCode: http.statusCode,
          errorClass: http.errorClass,
          errorMessage: http.errorMessage,
          responseBody: http.responseBody,
          responseHeaders: http.responseHeaders,
        },
        http.outcome === 'retryable' ? 'retrying' : http.outcome,
      );
      if (endpoint?.enabled && http.errorClass !== 'config') {
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
      if (plugins && endpoint?.enabled && http.errorClass !== 'config') {
        const base = {
          webhook: { endpoint: endpoint.url, event: { id: event.id, type: event.type } },
          endpoint: { id: endpoint.id, name: endpoint.name, url: endpoint.url },
          event: { id: event.id, type: event.type },
          deliveryId,
          attempts: attempt,
        };
        if (http.outcome === 'delivered') {
          plugins.emit('webhook:delivered', {
            ...base,
            statusCode: http.statusCode,
            durationMs: http.durationMs,
          });
        } else {
          plugins.emit('webhook:failed', {
            ...base,
            statusCode: http.statusCode,
            error: http.errorMessage,
            errorClass: http.errorClass,
            willRetry: http.outcome === 'retryable' && attempt < retry.maxAttempts,
          });
        }
      }
      if (endpoint && http.outcome === 'gone') {
        await disableEndpoint(db, endpoint.id, `the receiver answered 410 Gone to ${deliveryId}`);
      }
      if (endpoint?.enabled && http.errorClass !== 'config' && http.errorClass !== 'ssrf') {
        if (breakerNeedsToHear(http.outcome, mirror, probe)) {
          await tellBreaker(endpoint.id, resolveCircuitConfig(endpoint.circuitBreaker), {
            key: `${deliveryId}:${run}:${attempt}`,
            ok: http.outcome !== 'retryable',
            probe,
          });
        }
      }
      return { ...withoutRecord(http), attempt, retry };
    },

    /** The run number of each delivery of a replayed event (0 for an endpoint it never had). */
    async claimReplayRuns(ref: EventRef, endpointIds: string[]): Promise<Record<string, number>> {
      const runs: Record<string, number> = {};
      for (const endpointId of endpointIds) {
        runs[endpointId] = await claimNextRun(db, {
          id: deliveryWorkflowId(ref.eventId, endpointId),
          applicationId: ref.applicationId,
          eventId: ref.eventId,
          endpointId,
        });
      }
      return runs;
    },

    /** Stores the delivery as a dead letter: attempts exhausted or a failure that is not retried. */
    async deadLetter(
      ref: DeliveryRef,
      last: { attempts: number; reason: string; statusCode: number | null; error: string | null },
    ): Promise<void> {
      const run = ref.run ?? 0;
      const deliveryId = deliveryWorkflowId(ref.eventId, ref.endpointId);
      await insertDeadLetter(db, {
        id: newId('dl'),
        applicationId: ref.applicationId,
        deliveryId,
        eventId: ref.eventId,
        endpointId: ref.endpointId,
        run,
        attempts: last.attempts,
        reason: last.reason,
        lastStatusCode: last.statusCode,
        lastError: last.error,
      });
      await setDeliveryStatus(db, deliveryId, run, 'dead_lettered');
      metrics?.deadLettered(ref.endpointId);
      if (plugins?.has('webhook:dead_lettered')) {
        const [endpoint, event] = await Promise.all([
          endpointRef(db, ref.endpointId),
          getEvent(db, ref.eventId, ref.applicationId),
        ]);
        if (endpoint && event) {
          plugins.emit('webhook:dead_lettered', {
            webhook: { endpoint: endpoint.url, event: { id: event.id, type: event.type } },
            endpoint,
            event: { id: event.id, type: event.type },
            deliveryId,
            attempts: last.attempts,
            reason: last.reason,
          });
        }
      }
    },

    async recordEventOutcome(eventId: string, status: EventStatus): Promise<void> {
      await setEventStatus(db, eventId, status);
    },

    /** The breaker workflow's mirror of its state, read by deliveries to skip it when healthy. */
    async publishCircuitState(
      mirror: Omit<CircuitMirror, 'openUntil'> & { openUntil: number | null },
    ): Promise<void> {
      const written = await publishCircuit(db, {
        ...mirror,
        openUntil: mirror.openUntil === null ? null : new Date(mirror.openUntil),
      });
      if (!written || !plugins) return;
      const wasClosed = written.previous === null || written.previous === 'closed';
      if (wasClosed === (mirror.state === 'closed')) return; // no opening or closing
      if (!plugins.has(mirror.state === 'closed' ? 'endpoint:circuit_closed' : 'endpoint:circuit_opened'))
        return;
      const endpoint = await endpointRef(db, mirror.endpointId);
      if (!endpoint) return;
      if (mirror.state === 'closed') plugins.emit('endpoint:circuit_closed', { endpoint });
      else
        plugins.emit('endpoint:circuit_opened', {
          endpoint,
          consecutiveFailures: mirror.consecutiveFailures,
        });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
