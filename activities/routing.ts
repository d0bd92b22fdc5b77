import { deliveryWorkflowId } from '../src/domain/ids.js';
import { matchesFilter } from '../src/domain/filters.js';
import { subscribes } from '../src/domain/routing.js';
import { claimNextRun } from '../src/db/deliveries.js';
import { listEnabledEndpoints } from '../src/db/endpoints.js';
import { getEvent, setRoutePhase, type StoredEvent } from '../src/db/events.js';
import type { Db } from '../src/db/pool.js';
import type { EventRef, EventStatus } from '../workflows/contract.js';

/** What filter paths address: `type`, `source`, `payload.…`, `tags`. */
export function filterSubject(event: StoredEvent) {
  return {
    type: event.type,
    source: event.source,
    payload: JSON.parse(event.body) as unknown,
    tags: event.tags,
  };
}

/** The event workflow's activities: which endpoints get the event, replay runs, the outcome. */
export function createRoutingActivities({ db }: { db: Db }) {
  return {
    /** Endpoint ids of the application subscribed to the event's type whose filters pass. */
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
      await setRoutePhase(db, ref.eventId, 'routing');
      return matched;
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

    /**
     * The legacy event workflow's end. The outcome itself is derived from the deliveries (migration
     * 007); the status the old workflow computed is no longer written.
     */
    async recordEventOutcome(eventId: string, _status: EventStatus): Promise<void> {
      await setRoutePhase(db, eventId, 'routed');
    },
  };
}
