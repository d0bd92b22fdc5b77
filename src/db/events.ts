import type { Db } from './pool.js';

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
  createdAt: r.created_at,
});

export async function insertEvent(
  db: Db,
  e: Pick<StoredEvent, 'id' | 'applicationId' | 'type' | 'source' | 'body' | 'options' | 'tags'>,
): Promise<void> {
  await db.query(
    `INSERT INTO events (id, application_id, type, source, body, options, tags) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [e.id, e.applicationId, e.type, e.source, e.body, JSON.stringify(e.options), e.tags],
  );
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
