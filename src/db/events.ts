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
  status: string;
  matched: number | null;
  priority: Priority;
  idempotencyKey: string | null;
  bodyHash: string | null;
  replays: number;
  createdAt: Date;
}

interface EventRow {
  id: string;
  application_id: string;
  type: string;
  source: string | null;
  body: string;
  options: Record<string, unknown>;
  tags: string[];
  status: string;
  matched: number | null;
  priority: Priority;
  idempotency_key: string | null;
  body_hash: string | null;
  replays: number;
  created_at: Date;
}

const fromRow = (r: EventRow): StoredEvent => ({
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
});

export type NewEvent = Pick<
  StoredEvent,
  'id' | 'applicationId' | 'type' | 'source' | 'body' | 'options' | 'tags'
> &
  Partial<Pick<StoredEvent, 'priority' | 'idempotencyKey' | 'bodyHash'>>;

/**
 * Stores an event. With an idempotency key already used in the application, stores nothing and
 * returns the event that holds the key (`created: false`).
 */
export async function insertEvent(db: Db, e: NewEvent): Promise<{ event: StoredEvent; created: boolean }> {
  const { rows } = await db.query<EventRow>(
    `INSERT INTO events (id, application_id, type, source, body, options, tags, priority, idempotency_key, body_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (application_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
     RETURNING *`,
    [
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
    ],
  );
  if (rows[0]) return { event: fromRow(rows[0]), created: true };
  const existing = await db.query<EventRow>(
    'SELECT * FROM events WHERE application_id = $1 AND idempotency_key = $2',
    [e.applicationId, e.idempotencyKey],
  );
  return { event: fromRow(existing.rows[0]!), created: false };
}

export async function getEvent(db: Db, id: string, applicationId?: string): Promise<StoredEvent | undefined> {
  const { rows } = await db.query<EventRow>(
    'SELECT * FROM events WHERE id = $1 AND ($2::text IS NULL OR application_id = $2)',
    [id, applicationId ?? null],
  );
  return rows[0] && fromRow(rows[0]);
}

export async function setEventStatus(db: Db, id: string, status: string, matched?: number): Promise<void> {
  await db.query(
    'UPDATE events SET status = $2, matched = COALESCE($3, matched), updated_at = now() WHERE id = $1',
    [id, status, matched ?? null],
  );
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
  return rows.map(fromRow);
}

/** Counts a replay of the event. */
export async function markReplayed(db: Db, id: string): Promise<number> {
  const { rows } = await db.query<{ replays: number }>(
    `UPDATE events SET replays = replays + 1, status = 'replaying', updated_at = now() WHERE id = $1 RETURNING replays`,
    [id],
  );
  return rows[0]?.replays ?? 0;
}
