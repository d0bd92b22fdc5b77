import type { CircuitState } from '../domain/circuit.js';
import type { Db } from './pool.js';

export interface CircuitMirror {
  endpointId: string;
  state: CircuitState;
  consecutiveFailures: number;
  openUntil: Date | null;
  seq: number;
  /** The breaker keeps its waiters in `circuit_waiters` (undefined: as the mirror already says). */
  waiterTable?: boolean;
  /** A half-open breaker's probe is out until then (null: none). */
  probeUntil?: Date | null;
}

/**
 * Written only by the endpoint's breaker workflow; `seq` keeps a late write from undoing a newer
 * one. Returns the state it replaced (`undefined`: none, or this write was stale and ignored).
 * `down_since` is kept while the circuit is not closed, and cleared (with its notice) on closing.
 */
export async function publishCircuit(
  db: Db,
  m: CircuitMirror,
): Promise<{ previous: CircuitState | null } | undefined> {
  const { rows } = await db.query<{ previous: CircuitState | null }>(
    `WITH prev AS (SELECT state FROM endpoint_circuits WHERE endpoint_id = $1)
     INSERT INTO endpoint_circuits AS c (endpoint_id, state, consecutive_failures, open_until, seq, down_since,
       waiter_table, probe_until)
     SELECT $1, $2, $3, $4, $5, CASE WHEN $2 = 'closed' THEN NULL ELSE now() END, coalesce($6, false), $7
       WHERE EXISTS (SELECT 1 FROM endpoints WHERE id = $1)
     ON CONFLICT (endpoint_id) DO UPDATE SET state = EXCLUDED.state,
       consecutive_failures = EXCLUDED.consecutive_failures, open_until = EXCLUDED.open_until,
       seq = EXCLUDED.seq, updated_at = now(),
       waiter_table = coalesce($6, c.waiter_table), probe_until = EXCLUDED.probe_until,
       down_since = CASE WHEN EXCLUDED.state = 'closed' THEN NULL ELSE coalesce(c.down_since, now()) END,
       down_notified_at = CASE WHEN EXCLUDED.state = 'closed' THEN NULL ELSE c.down_notified_at END
     WHERE c.seq < EXCLUDED.seq
     RETURNING (SELECT state FROM prev) AS previous`,
    [
      m.endpointId,
      m.state,
      m.consecutiveFailures,
      m.openUntil,
      m.seq,
      m.waiterTable ?? null,
      m.probeUntil ?? null,
    ],
  );
  return rows[0];
}

/**
 * Claims the circuits not closed for `downAfterMs` whose outage was not announced yet (each one
 * once, whatever the number of workers), with their endpoints.
 */
export async function claimDownEndpoints(db: Db, downAfterMs: number) {
  const { rows } = await db.query<{ id: string; name: string; url: string; down_since: Date }>(
    `UPDATE endpoint_circuits c SET down_notified_at = now()
     FROM endpoints e
     WHERE e.id = c.endpoint_id AND c.state <> 'closed' AND c.down_notified_at IS NULL
       AND c.down_since < now() - make_interval(secs => $1::double precision / 1000)
     RETURNING e.id, e.name, e.url, c.down_since`,
    [downAfterMs],
  );
  return rows.map((r) => ({ endpoint: { id: r.id, name: r.name, url: r.url }, downSince: r.down_since }));
}

/** A row of `endpoint_circuits`. */
export interface CircuitRow {
  endpoint_id: string;
  state: CircuitState;
  consecutive_failures: number;
  open_until: Date | null;
  seq: string;
  waiter_table: boolean;
  probe_until: Date | null;
}

/** A row of `endpoint_circuits` as the mirror (exported for the attempt's combined read). */
export const circuitFromRow = (r: CircuitRow): CircuitMirror => ({
  endpointId: r.endpoint_id,
  state: r.state,
  consecutiveFailures: r.consecutive_failures,
  openUntil: r.open_until,
  seq: Number(r.seq),
  waiterTable: r.waiter_table,
  probeUntil: r.probe_until,
});

export async function getCircuit(db: Db, endpointId: string): Promise<CircuitMirror | undefined> {
  const { rows } = await db.query<CircuitRow>('SELECT * FROM endpoint_circuits WHERE endpoint_id = $1', [
    endpointId,
  ]);
  return rows[0] && circuitFromRow(rows[0]);
}

/** The name and URL of an endpoint by id (for notifications; any application). */
export async function endpointRef(
  db: Db,
  endpointId: string,
): Promise<{ id: string; name: string; url: string } | undefined> {
  const { rows } = await db.query<{ id: string; name: string; url: string }>(
    'SELECT id, name, url FROM endpoints WHERE id = $1',
    [endpointId],
  );
  return rows[0];
}
