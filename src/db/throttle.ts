import { emissionIntervalUs, type RateLimit } from '../domain/throttle.js';
import type { Db } from './pool.js';

export interface Reservation {
  /** ms until the reserved slot; 0 when the send is within the burst (it may go now). */
  waitMs: number;
  /** When the send may go (epoch ms, PostgreSQL's clock): the reserved slot, or now within the burst. */
  slotAt: number;
}

/**
 * Reserves the endpoint's next send slot (GCRA, virtual scheduling), in one statement. With the
 * emission interval T and the theoretical arrival time TAT (when the schedule would be empty
 * again), a send arriving at `now` moves TAT to max(TAT, now) + T and may go at TAT' − burst·T:
 * `burst` sends go at once after a quiet spell, then one every T. The row lock of the upsert
 * orders concurrent reservations from every worker process; each gets its own slot, so the
 * sends never exceed the rate. A reserved slot is never given back (a send that does not happen
 * only slows the endpoint).
 */
export async function reserveSlot(db: Db, endpointId: string, limit: RateLimit): Promise<Reservation> {
  const intervalUs = emissionIntervalUs(limit);
  // clock_timestamp(), not now(): the time after the row lock was granted, so reservations that
  // queued for the lock are scheduled in the order they got it.
  const { rows } = await db.query<{ wait_us: string; slot_ms: string }>(
    `WITH r AS (
       INSERT INTO endpoint_throttle AS t (endpoint_id, tat)
       VALUES ($1, clock_timestamp() + $2::bigint * interval '1 microsecond')
       ON CONFLICT (endpoint_id) DO UPDATE
         SET tat = greatest(t.tat, clock_timestamp()) + $2::bigint * interval '1 microsecond'
       RETURNING t.tat - $3::bigint * interval '1 microsecond' AS slot, clock_timestamp() AS at)
     SELECT greatest(0, extract(epoch FROM slot - at) * 1000000)::bigint AS wait_us,
            floor(extract(epoch FROM greatest(slot, at)) * 1000)::bigint AS slot_ms
     FROM r`,
    [endpointId, intervalUs, intervalUs * limit.burst],
  );
  const row = rows[0]!;
  return { waitMs: Math.ceil(Number(row.wait_us) / 1000), slotAt: Number(row.slot_ms) };
}
