import type { CircuitState } from '../domain/circuit.js';
import type { Db } from './pool.js';

export interface CircuitMirror {
  endpointId: string;
  state: CircuitState;
  consecutiveFailures: number;
  openUntil: Date | null;
  seq: number;
}

/** Written only by the endpoint's breaker workflow; `seq` keeps a late write from undoing a newer one. */
export async function publishCircuit(db: Db, m: CircuitMirror): Promise<void> {
  await db.query(
    `INSERT INTO endpoint_circuits (endpoint_id, state, consecutive_failures, open_until, seq)
     SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM endpoints WHERE id = $1)
     ON CONFLICT (endpoint_id) DO UPDATE SET state = EXCLUDED.state,
       consecutive_failures = EXCLUDED.consecutive_failures, open_until = EXCLUDED.open_until,
       seq = EXCLUDED.seq, updated_at = now()
     WHERE endpoint_circuits.seq < EXCLUDED.seq`,
    [m.endpointId, m.state, m.consecutiveFailures, m.openUntil, m.seq],
  );
}

export async function getCircuit(db: Db, endpointId: string): Promise<CircuitMirror | undefined> {
  const { rows } = await db.query<{
    endpoint_id: string;
    state: CircuitState;
    consecutive_failures: number;
    open_until: Date | null;
    seq: string;
  }>('SELECT * FROM endpoint_circuits WHERE endpoint_id = $1', [endpointId]);
  const r = rows[0];
  return (
    r && {
      endpointId: r.endpoint_id,
      state: r.state,
      consecutiveFailures: r.consecutive_failures,
      openUntil: r.open_until,
      seq: Number(r.seq),
    }
  );
}
