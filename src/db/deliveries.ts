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
  /** Why an operator terminated or cancelled its workflow, and who (the Temporal identity). */
  stopReason: string | null;
  stoppedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AttemptRecord {
  deliveryId: string;
  /** 0 for the original delivery, 1.. for replays. */
  run: number;
  /** The Temporal run that made the attempt (a reset run's attempts sit beside the old run's). */
  workflowRunId: string | null;
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
     ON CONFLICT (id) DO UPDATE SET run = EXCLUDED.run, status = 'pending', attempts = 0, workflow_run_id = NULL,
       stop_reason = NULL, stopped_by = NULL, updated_at = now()
       WHERE deliveries.run < EXCLUDED.run`,
    [d.id, d.applicationId, d.eventId, d.endpointId, d.run],
  );
}

/** What an owned write did: `applied` false with `inserted` true means another run owns the row. */
export interface OwnedWrite {
  inserted: boolean;
  applied: boolean;
}

/**
 * Records one attempt and the delivery's resulting state in one statement; re-running the same
 * attempt is a no-op. The status moves only for the Temporal run that owns the row (`force`: this
 * run has just been found to be the current one, a reset run's first write, and claims the row).
 * A delivery the reset run delivers resolves its open dead letter. A stopped delivery stays
 * stopped for the run that was stopped.
 */
export async function recordAttempt(
  db: Db,
  a: AttemptRecord & { workflowRunId: string },
  deliveryStatus: DeliveryStatus,
  opts: { force?: boolean } = {},
): Promise<OwnedWrite> {
  const { rows } = await db.query<{ inserted: number; applied: number }>(
    `WITH att AS (
       INSERT INTO delivery_attempts
         (delivery_id, run, workflow_run_id, attempt, started_at, duration_ms, outcome, status_code, error_class,
          error_message, response_body, response_headers)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING RETURNING 1
     ), upd AS (
       UPDATE deliveries SET status = $13, attempts = GREATEST(attempts, $4), last_status_code = $8,
              last_error = $10, workflow_run_id = $3, stop_reason = NULL, stopped_by = NULL, updated_at = now()
        WHERE id = $1 AND run = $2
          AND ($14 OR ((workflow_run_id IS NULL OR workflow_run_id = $3)
                       AND status NOT IN ('terminated', 'cancelled')))
          AND (EXISTS (SELECT 1 FROM att) OR $14)
       RETURNING id
     ), res AS (
       UPDATE dead_letters SET resolved_at = now(), resolution = 'delivered', resolved_by_run = $3,
              resolved_via = CASE WHEN run = $2 THEN 'reset' WHEN replayed_at IS NOT NULL THEN 'replay'
                                  ELSE 'event_replay' END
        WHERE delivery_id = $1 AND resolved_at IS NULL AND $13 = 'delivered' AND EXISTS (SELECT 1 FROM upd)
     )
     SELECT (SELECT count(*) FROM att)::int AS inserted, (SELECT count(*) FROM upd)::int AS applied`,
    [
      a.deliveryId,
      a.run,
      a.workflowRunId,
      a.attempt,
      a.startedAt,
      a.durationMs,
      a.outcome,
      a.statusCode,
      a.errorClass,
      a.errorMessage,
      a.responseBody,
      a.responseHeaders ? JSON.stringify(a.responseHeaders) : null,
      deliveryStatus,
      opts.force ?? false,
    ],
  );
  return { inserted: rows[0]!.inserted === 1, applied: rows[0]!.applied === 1 };
}

interface DeliveryRow {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  stop_reason: string | null;
  stopped_by: string | null;
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
    stopReason: r.stop_reason,
    stoppedBy: r.stopped_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
}

/**
 * Sets the delivery's status (retrying, waiting_circuit…) for its run, under the same ownership
 * guard as an attempt write (`force`: claim the row for this run).
 */
export async function setDeliveryStatus(
  db: Db,
  id: string,
  run: number,
  status: DeliveryStatus,
  owner: { workflowRunId: string; force?: boolean },
): Promise<OwnedWrite> {
  const { rowCount } = await db.query(
    `UPDATE deliveries SET status = $3, workflow_run_id = $4, updated_at = now()
      WHERE id = $1 AND run = $2
        AND ($5 OR ((workflow_run_id IS NULL OR workflow_run_id = $4) AND status NOT IN ('terminated', 'cancelled')))`,
    [id, run, status, owner.workflowRunId, owner.force ?? false],
  );
  return { inserted: true, applied: rowCount === 1 };
}

export async function listAttempts(db: Db, deliveryId: string): Promise<AttemptRecord[]> {
  const { rows } = await db.query<{
    delivery_id: string;
    run: number;
    workflow_run_id: string | null;
    attempt: number;
    started_at: Date;
    duration_ms: number;
    outcome: string;
    status_code: number | null;
    error_class: string | null;
    error_message: string | null;
    response_body: string | null;
    response_headers: Record<string, string> | null;
  }>('SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY run, started_at, attempt', [
    deliveryId,
  ]);
  return rows.map((r) => ({
    deliveryId: r.delivery_id,
    run: r.run,
    workflowRunId: r.workflow_run_id,
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
     ON CONFLICT (id) DO UPDATE SET run = deliveries.run + 1, status = 'pending', attempts = 0,
       workflow_run_id = NULL, stop_reason = NULL, stopped_by = NULL, updated_at = now()
     RETURNING run`,
    [d.id, d.applicationId, d.eventId, d.endpointId],
  );
  return rows[0]!.run;
}

/** What the reconciler needs of a delivery to decide about one of its closed Temporal runs. */
export interface DeliveryOwner {
  id: string;
  applicationId: string;
  eventId: string;
  endpointId: string;
  run: number;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  workflowRunId: string | null;
}

export async function getDeliveryOwner(db: Db, id: string): Promise<DeliveryOwner | undefined> {
  const { rows } = await db.query<{
    id: string;
    application_id: string;
    event_id: string;
    endpoint_id: string;
    run: number;
    status: DeliveryStatus;
    attempts: number;
    last_status_code: number | null;
    last_error: string | null;
    workflow_run_id: string | null;
  }>(
    `SELECT id, application_id, event_id, endpoint_id, run, status, attempts, last_status_code, last_error,
            workflow_run_id FROM deliveries WHERE id = $1`,
    [id],
  );
  const r = rows[0];
  return (
    r && {
      id: r.id,
      applicationId: r.application_id,
      eventId: r.event_id,
      endpointId: r.endpoint_id,
      run: r.run,
      status: r.status,
      attempts: r.attempts,
      lastStatusCode: r.last_status_code,
      lastError: r.last_error,
      workflowRunId: r.workflow_run_id,
    }
  );
}
