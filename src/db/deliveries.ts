import type { DeliveryStatus } from '../../workflows/contract.js';
import type { Db } from './pool.js';

export interface Delivery {
  id: string;
  eventId: string;
  endpointId: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AttemptRecord {
  deliveryId: string;
  /** 0 for the original delivery, 1.. for replays. */
  run: number;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  outcome: string;
  statusCode: number | null;
  errorClass: string | null;
  errorMessage: string | null;
  responseBody: string | null;
  responseHeaders: Record<string, string> | null;
}

/** Idempotent: an activity that is retried records its delivery once. */
export async function ensureDelivery(
  db: Db,
  d: { id: string; applicationId: string; eventId: string; endpointId: string; run: number },
): Promise<void> {
  // A replay (a higher run) starts the delivery's record over; a re-run activity changes nothing.
  await db.query(
    `INSERT INTO deliveries (id, application_id, event_id, endpoint_id, run) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET run = EXCLUDED.run, status = 'pending', attempts = 0, updated_at = now()
       WHERE deliveries.run < EXCLUDED.run`,
    [d.id, d.applicationId, d.eventId, d.endpointId, d.run],
  );
}

/** Records one attempt and the delivery's resulting state; re-running the same attempt is a no-op. */
export async function recordAttempt(db: Db, a: AttemptRecord, deliveryStatus: DeliveryStatus): Promise<void> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const inserted = await client.query(
      `INSERT INTO delivery_attempts
         (delivery_id, run, attempt, started_at, duration_ms, outcome, status_code, error_class, error_message,
          response_body, response_headers)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
      [
        a.deliveryId,
        a.run,
        a.attempt,
        a.startedAt,
        a.durationMs,
        a.outcome,
        a.statusCode,
        a.errorClass,
        a.errorMessage,
        a.responseBody,
        a.responseHeaders ? JSON.stringify(a.responseHeaders) : null,
      ],
    );
    if (inserted.rowCount === 1) {
      await client.query(
        `UPDATE deliveries SET status = $2, attempts = GREATEST(attempts, $3), last_status_code = $4,
           last_error = $5, updated_at = now() WHERE id = $1 AND run = $6`,
        [a.deliveryId, deliveryStatus, a.attempt, a.statusCode, a.errorMessage, a.run],
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
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

/** An event's deliveries by id (one per endpoint): all of them, or a keyset page after `cursor`. */
export async function listDeliveriesOfEvent(
  db: Db,
  eventId: string,
  page?: { cursor?: string | undefined; limit: number },
): Promise<Delivery[]> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT * FROM deliveries WHERE event_id = $1 AND ($2::text IS NULL OR id > $2)
     ORDER BY id LIMIT $3`,
    [eventId, page?.cursor ?? null, page?.limit ?? null],
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

/** Sets the delivery's status (delivered, retrying, waiting_circuit, dead_lettered…) for its run. */
export async function setDeliveryStatus(
  db: Db,
  id: string,
  run: number,
  status: DeliveryStatus,
): Promise<void> {
  await db.query('UPDATE deliveries SET status = $3, updated_at = now() WHERE id = $1 AND run = $2', [
    id,
    run,
    status,
  ]);
}

export async function listAttempts(db: Db, deliveryId: string): Promise<AttemptRecord[]> {
  const { rows } = await db.query<{
    delivery_id: string;
    run: number;
    attempt: number;
    started_at: Date;
    duration_ms: number;
    outcome: string;
    status_code: number | null;
    error_class: string | null;
    error_message: string | null;
    response_body: string | null;
    response_headers: Record<string, string> | null;
  }>('SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY run, attempt', [deliveryId]);
  return rows.map((r) => ({
    deliveryId: r.delivery_id,
    run: r.run,
    attempt: r.attempt,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    outcome: r.outcome,
    statusCode: r.status_code,
    errorClass: r.error_class,
    errorMessage: r.error_message,
    responseBody: r.response_body,
    responseHeaders: r.response_headers,
  }));
}

export async function deliveryExists(db: Db, id: string, applicationId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM deliveries WHERE id = $1 AND application_id = $2', [
    id,
    applicationId,
  ]);
  return rowCount === 1;
}

/**
 * Starts a new run of a delivery (a replay): fresh attempts, status pending. Returns the run
 * number, 0 when the delivery had no record yet.
 */
export async function claimNextRun(
  db: Db,
  d: { id: string; applicationId: string; eventId: string; endpointId: string },
): Promise<number> {
  const { rows } = await db.query<{ run: number }>(
    `INSERT INTO deliveries (id, application_id, event_id, endpoint_id, run) VALUES ($1, $2, $3, $4, 0)
     ON CONFLICT (id) DO UPDATE SET run = deliveries.run + 1, status = 'pending', attempts = 0, updated_at = now()
     RETURNING run`,
    [d.id, d.applicationId, d.eventId, d.endpointId],
  );
  return rows[0]!.run;
}
