import { emissionIntervalUs, type RateLimit } from '../domain/throttle.js';
import type { Db } from './pool.js';

export interface ThrottleAnswer {
  /** 0: the send may go now (its token is taken). Otherwise ms to wait before asking again. */
  waitMs: number;
  /** PostgreSQL's clock when it answered (epoch ms): for a send that may go, its send time. */
  at: number;
}

// GCRA (virtual scheduling) twice over, in one statement per call. With the emission interval T,
// the tolerance τ = (burst − 1)·T and a theoretical arrival time TAT, a send at `now` conforms when
// TAT − τ ≤ now, and moves TAT to max(TAT, now) + T: `burst` sends at once after a quiet spell,
// then one every T, and no window of length L holds more than burst + L/T of them.
//  - `tat` is the schedule: a delivery that must wait reserves its slot (TAT' − T − τ) and sleeps
//    until then on a durable timer, so deliveries wake one by one instead of all polling.
//  - `sent_tat` counts the sends that actually go, checked at the moment of sending: a send woken
//    late (a busy worker) cannot go out together with the sends that follow it on time.
// The row lock orders the calls of every worker process; clock_timestamp() is read after it.
const SQL = `
  WITH cur AS (SELECT tat, sent_tat FROM endpoint_throttle WHERE endpoint_id = $1 FOR UPDATE),
  n AS (SELECT tat, sent_tat, clock_timestamp() AS now FROM cur),
  p AS (
    SELECT now, sent_tat,
           CASE WHEN $2::boolean THEN tat ELSE greatest(tat, now) + $3::bigint * interval '1 microsecond' END AS tat
    FROM n),
  d AS (
    SELECT now, tat, sent_tat,
           CASE WHEN $2::boolean THEN now
                ELSE tat - ($3::bigint + $4::bigint) * interval '1 microsecond' END AS slot
    FROM p),
  g AS (SELECT *, slot <= now AND sent_tat - $4::bigint * interval '1 microsecond' <= now AS go FROM d),
  u AS (
    UPDATE endpoint_throttle t
       SET tat = g.tat,
           sent_tat = CASE WHEN g.go THEN greatest(g.sent_tat, g.now) + $3::bigint * interval '1 microsecond'
                           ELSE g.sent_tat END
      FROM g WHERE t.endpoint_id = $1)
  SELECT CASE WHEN go THEN 0
              ELSE ceil(extract(epoch FROM greatest(slot, sent_tat - $4::bigint * interval '1 microsecond') - now) * 1000)
         END::bigint AS wait_ms,
         floor(extract(epoch FROM now) * 1000)::bigint AS at_ms
  FROM g`;

/**
 * Asks the endpoint's throttle whether a send may go now. The first ask of a send (`reserved`
 * false) reserves its slot on the schedule; the ask after waiting for it (`reserved` true) does
 * not reserve again. Either may go only if a send token is free at this moment; otherwise the
 * answer is how long to wait (until the slot, or until the next token). A reserved slot is never
 * given back: a send that does not happen only slows the endpoint, never speeds it up.
 */
export async function askThrottle(
  db: Db,
  endpointId: string,
  limit: RateLimit,
  opts: { reserved: boolean },
): Promise<ThrottleAnswer> {
  const intervalUs = emissionIntervalUs(limit);
  const params = [endpointId, opts.reserved, intervalUs, (limit.burst - 1) * intervalUs];
  let { rows } = await db.query<{ wait_ms: string; at_ms: string }>(SQL, params);
  if (rows.length === 0) {
    // The endpoint's first throttled send: its row, then the same question.
    await db.query(
      `INSERT INTO endpoint_throttle (endpoint_id, tat, sent_tat) VALUES ($1, '-infinity', '-infinity')
       ON CONFLICT (endpoint_id) DO NOTHING`,
      [endpointId],
    );
    ({ rows } = await db.query<{ wait_ms: string; at_ms: string }>(SQL, params));
  }
  const row = rows[0];
  // The endpoint was deleted meanwhile (its row went with it): nothing to hold back.
  if (!row) return { waitMs: 0, at: Date.now() };
  return { waitMs: Number(row.wait_ms), at: Number(row.at_ms) };
}
