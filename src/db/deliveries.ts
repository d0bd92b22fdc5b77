import type { Db } from './pool.js';

export interface Delivery {
  id: string;
  eventId: string;
  endpointId: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AttemptRecord {
  deliveryId: string;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  outcome: string;
  statusCode: number | null;
  errorClass: string | null;
  errorMessage: string | null;
  responseBody: string | null;
}

/** Idempotent: an activity that is retried records its delivery once. */
export async function ensureDelivery(
  db: Db,
  d: { id: string; applicationId: string; eventId: string; endpointId: string },
): Promise<void> {
  await db.query(
    `INSERT INTO deliveries (id, application_id, event_id, endpoint_id) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO NOTHING`,
    [d.id, d.applicationId, d.eventId, d.endpointId],
  );
}

/** Records one attempt and the delivery's resulting state; re-running the same attempt is a no-op. */
export async function recordAttempt(db: Db, a: AttemptRecord, deliveryStatus: string): Promise<void> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const inserted = await client.query(
      `INSERT INTO delivery_attempts
         (delivery_id, attempt, started_at, duration_ms, outcome, status_code, error_class, error_message, response_body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
      [
        a.deliveryId,
        a.attempt,
        a.startedAt,
        a.durationMs,
        a.outcome,
        a.statusCode,
        a.errorClass,
        a.errorMessage,
        a.responseBody,
      ],
    );
    if (inserted.rowCount === 1) {
      await client.query(
        `UPDATE deliveries SET status = $2, attempts = GREATEST(attempts, $3), last_status_code = $4,
           last_error = $5, updated_at = now() WHERE id = $1`,
        [a.deliveryId, deliveryStatus, a.attempt, a.statusCode, a.errorMessage],
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

interface DeliveryRow {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

export async function listDeliveriesOfEvent(db: Db, eventId: string): Promise<Delivery[]> {
  const { rows } = await db.query<DeliveryRow>(
    'SELECT * FROM deliveries WHERE event_id = $1 ORDER BY endpoint_id',
    [eventId],
  );
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    endpointId: r.endpoint_id,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
}
