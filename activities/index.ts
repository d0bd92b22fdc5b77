import type { Dispatcher } from 'undici';
import { deliveryWorkflowId } from '../src/domain/ids.js';
import { subscribes } from '../src/domain/routing.js';
import { ensureDelivery, recordAttempt } from '../src/db/deliveries.js';
import { getEndpoint, listEnabledEndpoints } from '../src/db/endpoints.js';
import { getEvent, setEventStatus } from '../src/db/events.js';
import type { Db } from '../src/db/pool.js';
import { postWebhook, type HttpAttempt } from './deliver.js';

export interface ActivityDeps {
  db: Db;
  dispatcher: Dispatcher;
  allowPrivateNetworks: boolean;
}

export interface EventRef {
  eventId: string;
  applicationId: string;
  eventType: string;
}

export interface DeliveryRef {
  eventId: string;
  applicationId: string;
  endpointId: string;
}

export type AttemptResult = Omit<HttpAttempt, 'responseBody'> & { attempt: number };

/**
 * Activities: all I/O of a delivery. They return data for expected outcomes and throw only when
 * infrastructure fails (database down), so Temporal retries them.
 */
export function createActivities({ db, dispatcher, allowPrivateNetworks }: ActivityDeps) {
  return {
    /** Endpoint ids of the application subscribed to the event's type. */
    async matchEndpoints(ref: EventRef): Promise<string[]> {
      const endpoints = await listEnabledEndpoints(db, ref.applicationId);
      const matched = endpoints.filter((e) => subscribes(e.events, ref.eventType)).map((e) => e.id);
      await setEventStatus(db, ref.eventId, 'routing', matched.length);
      return matched;
    },

    /** One signed POST of the event to the endpoint, recorded as attempt `attempt`. */
    async deliverAttempt(ref: DeliveryRef, attempt: number): Promise<AttemptResult> {
      const deliveryId = deliveryWorkflowId(ref.eventId, ref.endpointId);
      const [event, endpoint] = await Promise.all([
        getEvent(db, ref.eventId, ref.applicationId),
        getEndpoint(db, ref.applicationId, ref.endpointId),
      ]);
      if (!event) throw new Error(`event ${ref.eventId} is not in the database`);
      await ensureDelivery(db, { id: deliveryId, ...ref });
      const startedAt = new Date();
      const http: HttpAttempt = endpoint
        ? await postWebhook(dispatcher, event, endpoint, allowPrivateNetworks)
        : {
            outcome: 'failed',
            statusCode: null,
            errorClass: 'config',
            errorMessage: 'the endpoint was deleted',
            responseBody: null,
            durationMs: 0,
            retryAfter: null,
          };
      await recordAttempt(
        db,
        {
          deliveryId,
          attempt,
          startedAt,
          durationMs: http.durationMs,
          outcome: http.outcome,
          statusCode: http.statusCode,
          errorClass: http.errorClass,
          errorMessage: http.errorMessage,
          responseBody: http.responseBody,
        },
        http.outcome === 'retryable' ? 'retrying' : http.outcome,
      );
      const { responseBody: _omit, ...result } = http;
      return { ...result, attempt };
    },

    async recordEventOutcome(eventId: string, status: string): Promise<void> {
      await setEventStatus(db, eventId, status);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
