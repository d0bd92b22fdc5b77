import type { OwnedWrite } from './deliveries.js';
import type { Db } from './pool.js';

/** Why a delivery became a dead letter: its attempts failed, or an operator stopped its workflow. */
export type DeadLetterKind = 'failed' | 'terminated' | 'cancelled';
export type DeadLetterResolution = 'delivered' | 'superseded';
export type DeadLetterResolvedVia = 'replay' | 'reset' | 'event_replay';

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
  kind: DeadLetterKind;
  /** The Temporal identity that terminated or cancelled the delivery's workflow. */
  stoppedBy: string | null;
  /** The Temporal run that wrote it. */
  workflowRunId: string | null;
  /** Set once a later run of the delivery delivered it, or dead-lettered it again. */
  resolvedAt: Date | null;
  resolution: DeadLetterResolution | null;
  resolvedVia: DeadLetterResolvedVia | null;
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
  kind: DeadLetterKind;
  stopped_by: string | null;
  workflow_run_id: string | null;
  resolved_at: Date | null;
  resolution: DeadLetterResolution | null;
  resolved_via: DeadLetterResolvedVia | null;
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
  kind: r.kind,
  stoppedBy: r.stopped_by,
  workflowRunId: r.workflow_run_id,
  resolvedAt: r.resolved_at,
  resolution: r.resolution,
  resolvedVia: r.resolved_via,
});

export type NewDeadLetter = Pick<
  DeadLetter,
  | 'id'
  | 'applicationId'
  | 'deliveryId'
  | 'eventId'
  | 'endpointId'
  | 'run'
  | 'attempts'
  | 'reason'
  | 'lastStatusCode'
  | 'lastError'
  | 'kind'
  | 'stoppedBy'
> & { workflowRunId: string };

const DELIVERY_STATUS_OF_KIND = { failed: 'dead_lettered', terminated: 'terminated', cancelled: 'cancelled' };

/**
 * The delivery ends as a dead letter, in one statement: this Temporal run's letter (one per run;
 * a re-run activity inserts nothing twice), the delivery's older open letter superseded, and the
 * delivery's status (`dead_lettered`, `terminated` or `cancelled`) with who stopped it and why.
 * Under the ownership guard of an attempt write (`force`: this run claims the row); a delivered
 * delivery is never turned back.
 */
export async function deadLetterDelivery(
  db: Db,
  d: NewDeadLetter,
  opts: { force?: boolean } = {},
): Promise<OwnedWrite> {
  const { rows } = await db.query<{ inserted: number; applied: number }>(
    `WITH owned AS (
       SELECT 1 FROM deliveries WHERE id = $3 AND run = $6 AND status <> 'delivered'
          AND ($15 OR ((workflow_run_id IS NULL OR workflow_run_id = $11)
                       AND status NOT IN ('terminated', 'cancelled')))
     ), ins AS (
       INSERT INTO dead_letters (id, application_id, delivery_id, event_id, endpoint_id, run, attempts, reason,
         last_status_code, last_error, workflow_run_id, kind, stopped_by)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 WHERE EXISTS (SELECT 1 FROM owned)
       ON CONFLICT (delivery_id, run, (COALESCE(workflow_run_id, ''))) DO NOTHING
       RETURNING 1
     ), sup AS (
       UPDATE dead_letters SET resolved_at = now(), resolution = 'superseded', resolved_by_run = $11,
              resolved_via = CASE WHEN run = $6 THEN 'reset' WHEN replayed_at IS NOT NULL THEN 'replay'
                                  ELSE 'event_replay' END
        WHERE delivery_id = $3 AND resolved_at IS NULL AND EXISTS (SELECT 1 FROM ins)
     ), upd AS (
       UPDATE deliveries SET status = $14, attempts = GREATEST(attempts, $7), workflow_run_id = $11,
              stop_reason = CASE WHEN $12 = 'failed' THEN NULL ELSE $8 END, stopped_by = $13, updated_at = now()
        WHERE id = $3 AND EXISTS (SELECT 1 FROM owned)
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM upd)::int AS applied`,
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
      d.workflowRunId,
      d.kind,
      d.stoppedBy,
      DELIVERY_STATUS_OF_KIND[d.kind],
      opts.force ?? false,
    ],
  );
  return { inserted: rows[0]!.inserted === 1, applied: rows[0]!.applied === 1 };
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
    `UPDATE dead_letters SET replayed_at = now() WHERE id = $1 AND replayed_at IS NULL AND resolved_at IS NULL`,
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
  resolved?: boolean | undefined;
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
       AND ($8::boolean IS NULL OR (d.resolved_at IS NOT NULL) = $8)
     ORDER BY d.created_at DESC, d.id DESC LIMIT $7`,
    [
      applicationId,
      q.endpointId ?? null,
      q.eventType ?? null,
      q.from ?? null,
      q.to ?? null,
      q.replayed ?? null,
      q.limit,
      q.resolved ?? null,
    ],
  );
  return rows.map(fromRow);
}
