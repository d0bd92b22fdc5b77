import type { QueryConfig } from 'pg';
import { FINAL_EVENT_STATUSES } from '../domain/vocabulary.js';
import type { RetentionCounts } from '../../workflows/contract.js';
import type { Db } from './pool.js';

/**
 * Each application's retention in days (its own setting, or the deployment's default), in id
 * order from `fromId` on.
 */
export async function retentionPolicies(
  db: Db,
  defaultDays: number,
  fromId = '',
): Promise<Array<{ applicationId: string; days: number }>> {
  const { rows } = await db.query<{ id: string; days: number }>(
    `SELECT id, COALESCE(retention_days, $1::int) AS days FROM applications
      WHERE id >= $2 ORDER BY id`,
    [defaultDays, fromId],
  );
  return rows.map((r) => ({ applicationId: r.id, days: r.days }));
}

export interface PurgeBatch {
  applicationId: string;
  days: number;
  /** Events per statement, at most. */
  maxEvents: number;
  /** Deliveries per statement, roughly: a wide event is deleted alone (at least one event goes). */
  maxDeliveries: number;
}

/** A batch touches a few thousand rows; it may take longer than the pool's default of 3 s. */
const PURGE_TIMEOUT_MS = 60_000;

/**
 * Deletes one batch of the application's expired events with their deliveries, attempts and dead
 * letters, in one short statement (its own transaction). Expired: created before the retention,
 * with a final status and no delivery pending or under way; an event still being delivered is
 * never deleted. The events are locked first (`SKIP LOCKED`: one that is being written is left
 * for the next batch), so a delivery cannot start on one while it goes; no event's counters are
 * touched (the deliveries' delete trigger finds the events gone).
 */
export async function purgeExpiredBatch(db: Db, batch: PurgeBatch): Promise<RetentionCounts> {
  // pg reads a per-query `query_timeout` (its types know only the pool-wide one).
  const query: QueryConfig & { query_timeout: number } = {
    text: `
      WITH candidates AS (
        SELECT e.id, e.created_at, COALESCE(e.matched, 0) AS width FROM events e
         WHERE e.application_id = $1
           AND e.created_at < now() - make_interval(days => $2::int)
           AND e.status = ANY($3::text[])
           AND e.n_pending + e.n_active = 0
         ORDER BY e.created_at
         LIMIT $4
         FOR UPDATE OF e SKIP LOCKED),
      doomed AS (
        SELECT id FROM (
          SELECT id, sum(width) OVER (ORDER BY created_at, id) AS running,
                 row_number() OVER (ORDER BY created_at, id) AS n
            FROM candidates) c
         WHERE n = 1 OR running <= $5),
      doomed_deliveries AS (SELECT d.id FROM deliveries d WHERE d.event_id IN (SELECT id FROM doomed)),
      attempts AS (
        DELETE FROM delivery_attempts a WHERE a.delivery_id IN (SELECT id FROM doomed_deliveries) RETURNING 1),
      dead AS (
        DELETE FROM dead_letters x WHERE x.delivery_id IN (SELECT id FROM doomed_deliveries) RETURNING 1),
      deliveries AS (
        DELETE FROM deliveries d WHERE d.id IN (SELECT id FROM doomed_deliveries) RETURNING 1),
      gone AS (DELETE FROM events e WHERE e.id IN (SELECT id FROM doomed) RETURNING 1)
      SELECT (SELECT count(*)::int FROM gone) AS events,
             (SELECT count(*)::int FROM deliveries) AS deliveries,
             (SELECT count(*)::int FROM attempts) AS attempts,
             (SELECT count(*)::int FROM dead) AS dead`,
    values: [
      batch.applicationId,
      batch.days,
      [...FINAL_EVENT_STATUSES],
      batch.maxEvents,
      batch.maxDeliveries,
    ],
    query_timeout: PURGE_TIMEOUT_MS,
  };
  const { rows } = await db.query<{ events: number; deliveries: number; attempts: number; dead: number }>(
    query,
  );
  const r = rows[0]!;
  return { events: r.events, deliveries: r.deliveries, attempts: r.attempts, deadLetters: r.dead };
}
