import type { CircuitPermit } from '../../workflows/contract.js';
import type { Db } from './pool.js';

/**
 * The deliveries waiting for an endpoint's circuit (docs/design/event-shape.md §6). They live here,
 * not in the breaker workflow's state, so 50,000 of them cost the workflow nothing. A row is
 * `released_at` while its permit is being signalled and goes once the signal succeeded; a deleted
 * endpoint takes its rows with it (ON DELETE CASCADE).
 */
export interface Waiter {
  workflowId: string;
  permit: CircuitPermit;
}

/**
 * A delivery found the circuit open. A re-registration keeps its place in the queue and undoes a
 * release in progress (the delivery asked again after its permit, so it still waits).
 */
export async function registerWaiter(db: Db, endpointId: string, workflowId: string): Promise<void> {
  await db.query(
    `INSERT INTO circuit_waiters (endpoint_id, workflow_id) VALUES ($1, $2)
     ON CONFLICT (endpoint_id, workflow_id) DO UPDATE SET released_at = NULL, permit = NULL`,
    [endpointId, workflowId],
  );
}

export async function unregisterWaiter(db: Db, endpointId: string, workflowId: string): Promise<void> {
  await db.query('DELETE FROM circuit_waiters WHERE endpoint_id = $1 AND workflow_id = $2', [
    endpointId,
    workflowId,
  ]);
}

/**
 * Waiters a breaker kept in its own state (before the table), in their order, behind any already
 * here. Nothing when the endpoint is gone. Returns the rows added.
 */
export async function adoptWaiterRows(db: Db, endpointId: string, workflowIds: string[]): Promise<number> {
  if (workflowIds.length === 0) return 0;
  const { rowCount } = await db.query(
    `INSERT INTO circuit_waiters (endpoint_id, workflow_id, registered_at)
     SELECT $1, w.id, clock_timestamp() + w.n * interval '1 microsecond'
       FROM unnest($2::text[]) WITH ORDINALITY AS w (id, n)
      WHERE EXISTS (SELECT 1 FROM endpoints WHERE id = $1)
     ON CONFLICT (endpoint_id, workflow_id) DO NOTHING`,
    [endpointId, workflowIds],
  );
  return rowCount ?? 0;
}

/**
 * Rows whose permit was being signalled when a release stopped half-way (its process died): the
 * resumed release signals them again before it claims more.
 */
export async function inFlightWaiters(db: Db, endpointId: string, limit: number): Promise<Waiter[]> {
  const { rows } = await db.query<{ workflow_id: string; permit: CircuitPermit }>(
    `SELECT workflow_id, permit FROM circuit_waiters
      WHERE endpoint_id = $1 AND released_at IS NOT NULL
      ORDER BY registered_at, workflow_id LIMIT $2`,
    [endpointId, limit],
  );
  return rows.map((r) => ({ workflowId: r.workflow_id, permit: r.permit }));
}

/** Marks the oldest `limit` waiting rows as being released with `permit`, and returns them. */
export async function claimWaiters(
  db: Db,
  endpointId: string,
  permit: CircuitPermit,
  limit: number,
): Promise<Waiter[]> {
  const { rows } = await db.query<{ workflow_id: string }>(
    `UPDATE circuit_waiters SET released_at = now(), permit = $2
      WHERE endpoint_id = $1 AND workflow_id IN (
        SELECT workflow_id FROM circuit_waiters
         WHERE endpoint_id = $1 AND released_at IS NULL
         ORDER BY registered_at, workflow_id LIMIT $3
         FOR UPDATE SKIP LOCKED)
      RETURNING workflow_id`,
    [endpointId, permit, limit],
  );
  return rows.map((r) => ({ workflowId: r.workflow_id, permit }));
}

/**
 * Removes released rows once their signal is done. A row re-registered meanwhile (its delivery
 * found the circuit open again) has no `released_at` and stays.
 */
export async function deleteReleasedWaiters(
  db: Db,
  endpointId: string,
  workflowIds: string[],
): Promise<void> {
  if (workflowIds.length === 0) return;
  await db.query(
    `DELETE FROM circuit_waiters
      WHERE endpoint_id = $1 AND workflow_id = ANY($2::text[]) AND released_at IS NOT NULL`,
    [endpointId, workflowIds],
  );
}

export async function countWaiters(db: Db, endpointId: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM circuit_waiters WHERE endpoint_id = $1 AND released_at IS NULL',
    [endpointId],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * After the endpoint was deleted (its rows went with it): the deliveries still marked as waiting
 * for its circuit, a page after `after` in id order. Their delivery ids are their workflow ids.
 */
export async function waitingDeliveriesOf(
  db: Db,
  endpointId: string,
  after: string,
  limit: number,
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM deliveries
      WHERE endpoint_id = $1 AND status = 'waiting_circuit' AND id > $2
      ORDER BY id LIMIT $3`,
    [endpointId, after, limit],
  );
  return rows.map((r) => r.id);
}

export async function endpointExists(db: Db, endpointId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM endpoints WHERE id = $1', [endpointId]);
  return rowCount === 1;
}
