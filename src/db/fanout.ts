// The event workflow's side of the fan-out (docs/design/event-shape.md §3–4): endpoints scanned a
// page at a time, the page's deliveries claimed in one round trip, and the event's counters.
import type { DeliveryCounts } from '../../workflows/contract.js';
import type { EventProgress } from './events.js';
import type { Db } from './pool.js';

/** The counter columns of `events` (migration 007). */
export interface CounterColumns {
  n_pending: number;
  n_active: number;
  n_delivered: number;
  n_failed: number;
  n_terminated: number;
  n_cancelled: number;
}
type CountsRow = CounterColumns & { matched: number };

/** The deliveries of an event by state, from its counter columns. */
export const progressOf = (r: CounterColumns): EventProgress => ({
  pending: r.n_pending,
  active: r.n_active,
  delivered: r.n_delivered,
  failed: r.n_failed,
  terminated: r.n_terminated,
  cancelled: r.n_cancelled,
});

const counts = (r: CountsRow): DeliveryCounts => ({ asOf: Date.now(), matched: r.matched, ...progressOf(r) });

export const NO_COUNTS: DeliveryCounts = {
  asOf: 0,
  matched: 0,
  pending: 0,
  active: 0,
  delivered: 0,
  failed: 0,
  terminated: 0,
  cancelled: 0,
};

/**
 * Claims the deliveries of one page of matched endpoints for an event run (`hookline_route_page`,
 * migration 007): new rows, and a new run of each finished one that another event run routed (a
 * replay or a reset); a delivery still running is skipped. Idempotent for the same event run, so
 * a retried activity gets the same claims. Also records the routing phase and the cursor.
 */
export async function claimRoutePage(
  db: Db,
  p: {
    eventId: string;
    applicationId: string;
    eventRunId: string;
    endpointIds: string[];
    cursor: string | null;
    firstOfReset: boolean;
  },
): Promise<{ start: Array<{ endpointId: string; run: number }>; skipped: number; counts: DeliveryCounts }> {
  const { rows } = await db.query<
    CountsRow & { endpoint_id: string | null; run: number | null; skipped: number }
  >('SELECT * FROM hookline_route_page($1, $2, $3, $4::text[], $5, $6)', [
    p.eventId,
    p.applicationId,
    p.eventRunId,
    p.endpointIds,
    p.cursor,
    p.firstOfReset,
  ]);
  const first = rows[0];
  if (!first) return { start: [], skipped: 0, counts: NO_COUNTS };
  return {
    start: rows
      .filter((r) => r.endpoint_id !== null)
      .map((r) => ({ endpointId: r.endpoint_id!, run: r.run! }))
      .sort((a, b) => (a.endpointId < b.endpointId ? -1 : 1)),
    skipped: first.skipped,
    counts: counts(first),
  };
}

/** The event's deliveries by state (the counters the triggers keep). */
export async function deliveryCounts(db: Db, eventId: string): Promise<DeliveryCounts> {
  const { rows } = await db.query<CountsRow>(
    `SELECT coalesce(matched, 0) AS matched, n_pending, n_active, n_delivered, n_failed, n_terminated, n_cancelled
     FROM events WHERE id = $1`,
    [eventId],
  );
  return rows[0] ? counts(rows[0]) : NO_COUNTS;
}

/** Deliveries an event run claimed that are still `pending`: started or not, the caller checks. */
export async function pendingClaims(
  db: Db,
  eventId: string,
  eventRunId: string,
): Promise<Array<{ endpointId: string; run: number }>> {
  const { rows } = await db.query<{ endpoint_id: string; run: number }>(
    `SELECT endpoint_id, run FROM deliveries WHERE event_id = $1 AND routed_by_run = $2 AND status = 'pending'
     ORDER BY endpoint_id`,
    [eventId, eventRunId],
  );
  return rows.map((r) => ({ endpointId: r.endpoint_id, run: r.run }));
}

/** Where the event's routing stopped, and whether a stop of this run was recorded already. */
export async function routingState(
  db: Db,
  eventId: string,
): Promise<
  | { cursor: string | null; phase: string | null; pagedRouting: boolean; stoppedRun: string | null }
  | undefined
> {
  const { rows } = await db.query<{
    route_cursor: string | null;
    route_phase: string | null;
    paged: boolean;
    stopped_run: string | null;
  }>(
    `SELECT route_cursor, route_phase, routing_run_id IS NOT NULL AS paged, stopped->>'runId' AS stopped_run
     FROM events WHERE id = $1`,
    [eventId],
  );
  const r = rows[0];
  return (
    r && { cursor: r.route_cursor, phase: r.route_phase, pagedRouting: r.paged, stoppedRun: r.stopped_run }
  );
}

/** The event's workflow was stopped: routing is over (its status follows the deliveries). */
export async function markEventStopped(
  db: Db,
  eventId: string,
  stop: { kind: string; reason: string | null; identity: string | null; runId: string },
): Promise<void> {
  await db.query(
    `UPDATE events SET stopped = $2::jsonb, route_phase = 'routed', route_cursor = NULL, updated_at = now()
     WHERE id = $1`,
    [eventId, JSON.stringify(stop)],
  );
}
