import type { Db } from './pool.js';

export interface DeadLetter {
  id: string;
  applicationId: string;
  deliveryId: string;
  eventId: string;
  endpointId: string;
  run: number;
  attempts: number;
  reason: string;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  replayedAt: Date | null;
  replayRun: number | null;
}

interface Row {
  id: string;
  application_id: string;
  delivery_id: string;
  event_id: string;
  endpoint_id: string;
  run: number;
  attempts: number;
  reason: string;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  replayed_at: Date | null;
  replay_run: number | null;
}

const fromRow = (r: Row): DeadLetter => ({
  id: r.id,
  applicationId: r.application_id,
  deliveryId: r.delivery_id,
  eventId: r.event_id,
  endpointId: r.endpoint_id,
  run: r.run,
  attempts: r.attempts,
  reason: r.reason,
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  createdAt: r.created_at,
  replayedAt: r.replayed_at,
  replayRun: r.replay_run,
});

/** One dead letter per delivery run; a re-run activity inserts nothing twice. */
export async function insertDeadLetter(
  db: Db,
  d: Omit<DeadLetter, 'createdAt' | 'replayedAt' | 'replayRun'>,
): Promise<void> {
  await db.query(
    `INSERT INTO dead_letters (id, application_id, delivery_id, event_id, endpoint_id, run, attempts, reason,
       last_status_code, last_error)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
     WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = $3) -- gone with its application: nothing to keep
     ON CONFLICT (delivery_id, run) DO NOTHING`,
    [
      d.id,
      d.applicationId,
      d.deliveryId,
      d.eventId,
      d.endpointId,
      d.run,
      d.attempts,
      d.reason,
      d.lastStatusCode,
      d.lastError,
    ],
  );
}

export async function listDeadLetters(
  db: Db,
  applicationId: string,
  filter: { endpointId?: string; limit?: number } = {},
): Promise<DeadLetter[]> {
  const { rows } = await db.query<Row>(
    `SELECT * FROM dead_letters WHERE application_id = $1 AND ($2::text IS NULL OR endpoint_id = $2)
     ORDER BY created_at DESC, id DESC LIMIT $3`,
    [applicationId, filter.endpointId ?? null, filter.limit ?? 100],
  );
  return rows.map(fromRow);
}

export async function getDeadLetter(
  db: Db,
  applicationId: string,
  id: string,
): Promise<DeadLetter | undefined> {
  const { rows } = await db.query<Row>('SELECT * FROM dead_letters WHERE id = $1 AND application_id = $2', [
    id,
    applicationId,
  ]);
  return rows[0] && fromRow(rows[0]);
}

/**
 * Claims a dead letter for replay: returns the new run number, or undefined when it was already
 * replayed (two concurrent replay requests start one delivery).
 */
export async function claimReplay(db: Db, id: string): Promise<number | undefined> {
  const { rows } = await db.query<{ replay_run: number }>(
    `UPDATE dead_letters SET replayed_at = now(), replay_run = run + 1
     WHERE id = $1 AND replayed_at IS NULL RETURNING replay_run`,
    [id],
  );
  return rows[0]?.replay_run;
}
