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
     ON CONFLICT (delivery_id, run, (COALESCE(workflow_run_id, ''))) DO NOTHING`,
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
 * Claims a dead letter for replay, once: true for the first claim, false when it was already
 * replayed (two concurrent replay requests start one delivery). `replayRun` is filled in later.
 */
export async function claimReplay(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE dead_letters SET replayed_at = now() WHERE id = $1 AND replayed_at IS NULL`,
    [id],
  );
  return rowCount === 1;
}

export async function setReplayRun(db: Db, id: string, run: number): Promise<void> {
  await db.query('UPDATE dead_letters SET replay_run = $2 WHERE id = $1', [id, run]);
}

/**
 * Undoes a claim whose workflow did not start: the dead letter can be replayed again, and its
 * delivery shows as dead-lettered instead of a pending run that will never happen.
 */
export async function releaseReplay(db: Db, dead: { id: string; deliveryId: string }): Promise<void> {
  await db.query('UPDATE dead_letters SET replayed_at = NULL, replay_run = NULL WHERE id = $1', [dead.id]);
  await db.query(`UPDATE deliveries SET status = 'dead_lettered', updated_at = now() WHERE id = $1`, [
    dead.deliveryId,
  ]);
}

export interface DeadLetterQuery {
  endpointId?: string | undefined;
  eventType?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  replayed?: boolean | undefined;
  limit: number;
}

export async function findDeadLetters(
  db: Db,
  applicationId: string,
  q: DeadLetterQuery,
): Promise<DeadLetter[]> {
  const { rows } = await db.query<Row>(
    `SELECT d.* FROM dead_letters d JOIN events e ON e.id = d.event_id
     WHERE d.application_id = $1
       AND ($2::text IS NULL OR d.endpoint_id = $2)
       AND ($3::text IS NULL OR e.type = $3)
       AND ($4::timestamptz IS NULL OR d.created_at >= $4)
       AND ($5::timestamptz IS NULL OR d.created_at < $5)
       AND ($6::boolean IS NULL OR (d.replayed_at IS NOT NULL) = $6)
     ORDER BY d.created_at DESC, d.id DESC LIMIT $7`,
    [
      applicationId,
      q.endpointId ?? null,
      q.eventType ?? null,
      q.from ?? null,
      q.to ?? null,
      q.replayed ?? null,
      q.limit,
    ],
  );
  return rows.map(fromRow);
}
