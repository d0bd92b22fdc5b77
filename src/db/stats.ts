import type { Db } from './pool.js';

/** Deliveries waiting (pending, retrying, for a circuit, for a throttle slot), of one application or of all. */
export async function waitingDeliveries(
  db: Db,
  applicationId?: string,
): Promise<{ pending: number; retrying: number; waitingCircuit: number; throttled: number }> {
  const { rows } = await db.query<{ status: string; n: string }>(
    `SELECT status, count(*) AS n FROM deliveries
     WHERE ($1::text IS NULL OR application_id = $1)
       AND status IN ('pending', 'retrying', 'waiting_circuit', 'throttled')
     GROUP BY status`,
    [applicationId ?? null],
  );
  const by = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  return {
    pending: by.pending ?? 0,
    retrying: by.retrying ?? 0,
    waitingCircuit: by.waiting_circuit ?? 0,
    throttled: by.throttled ?? 0,
  };
}

/** Accepted events of an application whose workflow has not started yet, and the oldest's age (s). */
export async function undispatchedEvents(
  db: Db,
  applicationId: string,
): Promise<{ pending: number; oldestSeconds: number }> {
  const { rows } = await db.query<{ n: string; oldest: number | null }>(
    `SELECT count(*) AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest
     FROM events WHERE dispatched_at IS NULL AND application_id = $1`,
    [applicationId],
  );
  return { pending: Number(rows[0]?.n ?? 0), oldestSeconds: Math.max(0, Math.round(rows[0]?.oldest ?? 0)) };
}

/** The last `seconds` of an application's traffic: events/s, success rate, mean response time. */
export async function recentTraffic(db: Db, applicationId: string, seconds: number) {
  const { rows } = await db.query<{ events: string; attempts: string; ok: string; avg: string | null }>(
    `SELECT
       (SELECT count(*) FROM events WHERE application_id = $1 AND created_at > now() - make_interval(secs => $2)) AS events,
       count(a.*) AS attempts,
       count(a.*) FILTER (WHERE a.outcome = 'delivered') AS ok,
       avg(a.duration_ms) AS avg
     FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
     WHERE d.application_id = $1 AND a.started_at > now() - make_interval(secs => $2)`,
    [applicationId, seconds],
  );
  const r = rows[0]!;
  const attempts = Number(r.attempts);
  return {
    eventsPerSecond: Number(r.events) / seconds,
    successRate: attempts === 0 ? null : Number(r.ok) / attempts,
    averageResponseMs: r.avg === null ? null : Math.round(Number(r.avg)),
  };
}

/** Per endpoint of an application: attempts, successes, failures, mean response time, last activity. */
export async function endpointStats(db: Db, applicationId: string) {
  const { rows } = await db.query<{
    id: string;
    name: string;
    total: string;
    ok: string;
    avg: string | null;
    last: Date | null;
  }>(
    `SELECT e.id, e.name, count(a.*) AS total, count(a.*) FILTER (WHERE a.outcome = 'delivered') AS ok,
          avg(a.duration_ms) AS avg, max(a.started_at) AS last
     FROM endpoints e
     LEFT JOIN deliveries d ON d.endpoint_id = e.id
     LEFT JOIN delivery_attempts a ON a.delivery_id = d.id
     WHERE e.application_id = $1 GROUP BY e.id, e.name ORDER BY e.id`,
    [applicationId],
  );
  return rows.map((e) => ({
    endpointId: e.id,
    name: e.name,
    total: Number(e.total),
    successes: Number(e.ok),
    failures: Number(e.total) - Number(e.ok),
    averageResponseMs: e.avg === null ? null : Math.round(Number(e.avg)),
    lastActivityAt: e.last?.toISOString() ?? null,
  }));
}

/** Every endpoint's mirrored breaker state. */
export async function circuitStates(db: Db): Promise<Array<{ endpointId: string; state: string }>> {
  const { rows } = await db.query<{ endpoint_id: string; state: string }>(
    'SELECT endpoint_id, state FROM endpoint_circuits',
  );
  return rows.map((r) => ({ endpointId: r.endpoint_id, state: r.state }));
}

/** The database answers. */
export async function ping(db: Db): Promise<void> {
  await db.query('SELECT 1');
}
