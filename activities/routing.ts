import { deliveryWorkflowId } from '../src/domain/ids.js';
import { matchesFilter } from '../src/domain/filters.js';
import { subscribes } from '../src/domain/routing.js';
import { claimNextRun } from '../src/db/deliveries.js';
import { listEnabledEndpoints, listEnabledEndpointsAfter } from '../src/db/endpoints.js';
import { claimRoutePage, deliveryCounts } from '../src/db/fanout.js';
import { getEvent, setRoutePhase, type StoredEvent } from '../src/db/events.js';
import type { Db } from '../src/db/pool.js';
import type { DeliveryCounts, EventRef, EventStatus, RoutePage } from '../workflows/contract.js';
import { Context } from '@temporalio/activity';

/** Endpoints read per query while matching a page (the filters run here, in Node). */
const SCAN_PAGE = 2_000;
/** At most this many endpoints scanned per routePage call, so one call stays short. */
const SCAN_MAX = 20_000;

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
        listEnabledEndpoints(db, ref.applicationId, ref.eventType),
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

    /** The next page of the event's match, claimed for this event run (see routeNext). */
    async routePage(
      ref: EventRef,
      req: { cursor: string | null; limit: number; firstOfReset: boolean },
    ): Promise<RoutePage> {
      const eventRunId = Context.current().info.workflowExecution?.runId;
      if (!eventRunId) throw new Error('routePage runs only inside an event workflow');
      return routeNext(db, ref, { ...req, eventRunId });
    },

    /** The event's deliveries by state, for pacing a wide fan-out. */
    async fanoutCounts(eventId: string): Promise<DeliveryCounts> {
      return deliveryCounts(db, eventId);
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

/**
 * The next page of the event's match, after `cursor`: up to `limit` subscribed endpoints whose
 * filters pass, their deliveries claimed for event run `eventRunId` in one round trip. The cursor
 * is the last endpoint scanned (null at the end), so the workflow carries O(1) state.
 */
export async function routeNext(
  db: Db,
  ref: EventRef,
  req: { cursor: string | null; limit: number; eventRunId: string; firstOfReset: boolean },
): Promise<RoutePage> {
  const event = await getEvent(db, ref.eventId, ref.applicationId);
  if (!event) return { start: [], skipped: 0, cursor: null, counts: await deliveryCounts(db, ref.eventId) };
  const subject = filterSubject(event);
  const matched: string[] = [];
  let cursor = req.cursor;
  let scanned = 0;
  let end = false;
  while (matched.length < req.limit && scanned < SCAN_MAX) {
    const page = await listEnabledEndpointsAfter(db, ref.applicationId, ref.eventType, cursor, SCAN_PAGE);
    const matches = (e: (typeof page)[number]) =>
      subscribes(e.events, ref.eventType) && matchesFilter(e.filters, subject);
    let i = 0;
    for (; i < page.length; i++) {
      const e = page[i]!;
      cursor = e.id;
      scanned++;
      if (matches(e)) {
        matched.push(e.id);
        if (matched.length === req.limit) break;
      }
    }
    // A short page is the last one: when nothing after the window's last match matches, the
    // match ends here (no further run just to find nothing).
    if (page.length < SCAN_PAGE && !page.slice(i + 1).some(matches)) {
      end = true;
      break;
    }
  }
  const next = end ? null : cursor;
  const claim = await claimRoutePage(db, {
    eventId: ref.eventId,
    applicationId: ref.applicationId,
    eventRunId: req.eventRunId,
    endpointIds: matched,
    cursor: next,
    firstOfReset: req.firstOfReset,
  });
  return { ...claim, cursor: next };
}
