import type { DeliveryCounts, EventStatus } from '../../workflows/contract.js';
import { progressOf, type CounterColumns } from './fanout.js';
import type { Db } from './pool.js';

export type Priority = 'high' | 'normal' | 'low';

export interface StoredEvent {
  id: string;
  applicationId: string;
  type: string;
  source: string | null;
  body: string;
  options: Record<string, unknown>;
  tags: string[];
  status: EventStatus;
  matched: number | null;
  priority: Priority;
  idempotencyKey: string | null;
  bodyHash: string | null;
  replays: number;
  createdAt: Date;
  /** When its workflow was known to exist; null while it waits for the dispatcher. */
  dispatchedAt: Date | null;
  /** Its deliveries by state (counters kept by triggers, migration 007). */
  progress: EventProgress;
}

export type EventProgress = Omit<DeliveryCounts, 'asOf' | 'matched'>;

export interface EventRow extends CounterColumns {
  id: string;
  application_id: string;
  type: string;
  source: string | null;
  body: string;
  options: Record<string, unknown>;
  tags: string[];
  status: EventStatus;
  matched: number | null;
  priority: Priority;
  idempotency_key: string | null;
  body_hash: string | null;
  replays: number;
  created_at: Date;
  dispatched_at: Date | null;
}

/** A row of `events` as the event (exported for the attempt's combined read). */
export const eventFromRow = (r: EventRow): StoredEvent => ({
  id: r.id,
  applicationId: r.application_id,
  type: r.type,
  source: r.source,
  body: r.body,
  options: r.options,
  tags: r.tags,
  status: r.status,
  matched: r.matched,
  priority: r.priority,
  idempotencyKey: r.idempotency_key,
  bodyHash: r.body_hash,
  replays: r.replays,
  createdAt: r.created_at,
  dispatchedAt: r.dispatched_at,
  progress: progressOf(r),
});

export type NewEvent = Pick<
  StoredEvent,
  'id' | 'applicationId' | 'type' | 'source' | 'body' | 'options' | 'tags'
> &
  Partial<Pick<StoredEvent, 'priority' | 'idempotencyKey' | 'bodyHash'>>;

const COLUMNS = 11;

/**
 * Stores events in one statement. An event whose idempotency key is already used in its
 * application (by an earlier request or an earlier item of the same call) is not stored: the
 * event holding the key is returned instead (`created: false`). Results keep the input's order.
 * `leaseMs` reserves the new rows for the caller's own immediate start, so dispatchers elsewhere
 * leave them alone that long (they pick them up if the caller dies first).
 */
export async function insertEvents(
  db: Db,
  events: readonly NewEvent[],
  leaseMs: number | null,
): Promise<Array<{ event: StoredEvent; created: boolean }>> {
  if (events.length === 0) return [];
  const params: unknown[] = [];
  const tuples = events.map((e, i) => {
    params.push(
      e.id,
      e.applicationId,
      e.type,
      e.source,
      e.body,
      JSON.stringify(e.options),
      e.tags,
      e.priority ?? 'normal',
      e.idempotencyKey ?? null,
      e.bodyHash ?? null,
      leaseMs,
    );
    const p = (k: number) => `$${i * COLUMNS + k}`;
    return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}::jsonb, ${p(7)}::text[], ${p(8)}, ${p(9)}, ${p(10)},
      now() + make_interval(secs => ${p(11)}::double precision / 1000))`;
  });
  const { rows } = await db.query<EventRow>(
    `INSERT INTO events (id, application_id, type, source, body, options, tags, priority, idempotency_key,
       body_hash, dispatch_lease_until)
     VALUES ${tuples.join(',\n')}
     ON CONFLICT (application_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
     RETURNING *`,
    params,
  );
  const inserted = new Map(rows.map((r) => [r.id, eventFromRow(r)]));
  const missing = events.filter((e) => !inserted.has(e.id));
  const holders = new Map<string, StoredEvent>();
  if (missing.length) {
    const found = await db.query<EventRow>(
      `SELECT e.* FROM events e
       JOIN unnest($1::text[], $2::text[]) AS k(application_id, idempotency_key)
         ON e.application_id = k.application_id AND e.idempotency_key = k.idempotency_key`,
      [missing.map((e) => e.applicationId), missing.map((e) => e.idempotencyKey)],
    );
    for (const r of found.rows) holders.set(`${r.application_id}\u0000${r.idempotency_key}`, eventFromRow(r));
  }
  return events.map((e) => {
    const created = inserted.get(e.id);
    if (created) return { event: created, created: true };
    const holder = holders.get(`${e.applicationId}\u0000${e.idempotencyKey}`);
    if (!holder) throw new Error(`event ${e.id} was neither stored nor found by its idempotency key`);
    return { event: holder, created: false };
  });
}

/** Stores one event (see insertEvents). */
export async function insertEvent(
  db: Db,
  e: NewEvent,
  leaseMs: number | null = null,
): Promise<{ event: StoredEvent; created: boolean }> {
  return (await insertEvents(db, [e], leaseMs))[0]!;
}

export async function getEvent(db: Db, id: string, applicationId?: string): Promise<StoredEvent | undefined> {
  const { rows } = await db.query<EventRow>(
    'SELECT * FROM events WHERE id = $1 AND ($2::text IS NULL OR application_id = $2)',
    [id, applicationId ?? null],
  );
  return rows[0] && eventFromRow(rows[0]);
}

/**
 * The event workflow's routing phase (the status itself is derived in PostgreSQL from the phase
 * and the deliveries' counters, migration 007). Written by the event's workflow, so the event is
 * dispatched, whoever started it.
 */
export async function setRoutePhase(db: Db, id: string, phase: 'routing' | 'routed'): Promise<void> {
  await db.query(
    `UPDATE events SET route_phase = $2, updated_at = now(),
       dispatched_at = COALESCE(dispatched_at, now()), dispatch_lease_until = NULL
     WHERE id = $1`,
    [id, phase],
  );
}

/** The dispatcher's order: high, normal, low priority, then oldest first (see events_dispatch_idx). */
const DISPATCH_ORDER = `(CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END), created_at`;

/**
 * Claims up to `limit` events that have no workflow yet and that no live lease holds, in the
 * dispatcher's order, for `leaseMs`. Concurrent dispatchers skip each other's rows.
 */
export async function claimForDispatch(db: Db, limit: number, leaseMs: number): Promise<StoredEvent[]> {
  const { rows } = await db.query<EventRow>(
    `UPDATE events e
       SET dispatch_lease_until = now() + make_interval(secs => $2::double precision / 1000),
           dispatch_attempts = e.dispatch_attempts + 1
     FROM (SELECT id FROM events
           WHERE dispatched_at IS NULL AND (dispatch_lease_until IS NULL OR dispatch_lease_until < now())
           ORDER BY ${DISPATCH_ORDER}
           LIMIT $1
           FOR UPDATE SKIP LOCKED) c
     WHERE e.id = c.id
     RETURNING e.*`,
    [limit, leaseMs],
  );
  const rank = { high: 0, normal: 1, low: 2 } as const;
  return rows
    .map(eventFromRow)
    .sort((a, b) => rank[a.priority] - rank[b.priority] || a.createdAt.getTime() - b.createdAt.getTime());
}

/** Their workflows exist: `accepted` becomes `dispatched` (derived; a routed event keeps its status). */
export async function markDispatched(db: Db, ids: readonly string[]): Promise<void> {
  if (!ids.length) return;
  await db.query(
    `UPDATE events SET dispatched_at = now(), dispatch_lease_until = NULL, updated_at = now()
     WHERE id = ANY($1::text[]) AND dispatched_at IS NULL`,
    [ids],
  );
}

/** A start failed: the events are left for any dispatcher to try again after `ms`. */
export async function deferDispatch(db: Db, ids: readonly string[], ms: number): Promise<void> {
  if (!ids.length) return;
  await db.query(
    `UPDATE events SET dispatch_lease_until = now() + make_interval(secs => $2::double precision / 1000)
     WHERE id = ANY($1::text[]) AND dispatched_at IS NULL`,
    [ids, ms],
  );
}

/** Committed events without a workflow yet, and the age of the oldest (seconds). */
export async function dispatchBacklog(db: Db): Promise<{ pending: number; oldestSeconds: number }> {
  const { rows } = await db.query<{ pending: string; oldest: number | null }>(
    `SELECT count(*) AS pending, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest
     FROM events WHERE dispatched_at IS NULL`,
  );
  return { pending: Number(rows[0]?.pending ?? 0), oldestSeconds: Math.max(0, rows[0]?.oldest ?? 0) };
}

export interface EventQuery {
  type?: string | undefined;
  status?: string | undefined;
  tag?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** The last id of the previous page; pages run newest first. */
  cursor?: string | undefined;
  limit: number;
}

export async function listEvents(db: Db, applicationId: string, q: EventQuery): Promise<StoredEvent[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT * FROM events WHERE application_id = $1
       AND ($2::text IS NULL OR type = $2)
       AND ($3::text IS NULL OR status = $3)
       AND ($4::text IS NULL OR tags @> ARRAY[$4::text])
       AND ($5::timestamptz IS NULL OR created_at >= $5)
       AND ($6::timestamptz IS NULL OR created_at < $6)
       AND ($7::text IS NULL OR id < $7)
     ORDER BY id DESC LIMIT $8`,
    [
      applicationId,
      q.type ?? null,
      q.status ?? null,
      q.tag ?? null,
      q.from ?? null,
      q.to ?? null,
      q.cursor ?? null,
      q.limit,
    ],
  );
  return rows.map(eventFromRow);
}

/** What a replay's mark replaced, to put back if the replay cannot start (see unmarkReplayed). */
export interface ReplayMark {
  replays: number;
  was: { replaying: boolean; routePhase: string | null; routeCursor: string | null };
}

/**
 * Counts a replay of the event: it is `replaying` until the replay has routed every endpoint and
 * their deliveries have settled (the routing phase starts over).
 */
export async function markReplayed(db: Db, id: string): Promise<ReplayMark | undefined> {
  const { rows } = await db.query<{
    replays: number;
    was_replaying: boolean;
    was_phase: string | null;
    was_cursor: string | null;
  }>(
    `WITH was AS (SELECT id, replaying, route_phase, route_cursor FROM events WHERE id = $1 FOR UPDATE)
     UPDATE events e SET replays = e.replays + 1, replaying = true, route_phase = NULL, route_cursor = NULL,
       updated_at = now() FROM was WHERE e.id = was.id
     RETURNING e.replays, was.replaying AS was_replaying, was.route_phase AS was_phase, was.route_cursor AS was_cursor`,
    [id],
  );
  const r = rows[0];
  return (
    r && {
      replays: r.replays,
      was: { replaying: r.was_replaying, routePhase: r.was_phase, routeCursor: r.was_cursor },
    }
  );
}

/**
 * Takes back a replay's mark whose workflow could not be started (Temporal unreachable), unless
 * another replay has marked the event since: the event shows its outcome again, not `replaying`.
 */
export async function unmarkReplayed(db: Db, id: string, mark: ReplayMark): Promise<void> {
  await db.query(
    `UPDATE events SET replays = replays - 1, replaying = $3, route_phase = $4, route_cursor = $5,
       updated_at = now() WHERE id = $1 AND replays = $2`,
    [id, mark.replays, mark.was.replaying, mark.was.routePhase, mark.was.routeCursor],
  );
}
