import type pg from 'pg';
import type { Db } from './pool.js';

/** One reconciler at a time across worker processes; the lock falls with its holder's connection. */
const LOCK = `hashtext('hookline:reconciler')`;

export async function tryReconcilerLock(client: pg.PoolClient): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK}) AS ok`);
  return rows[0]!.ok;
}

/** Throws when the lock's connection is gone (PostgreSQL restarted): the lock went with it. */
export async function checkLockConnection(client: pg.PoolClient): Promise<void> {
  await client.query('SELECT 1');
}

export async function releaseReconcilerLock(client: pg.PoolClient): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(${LOCK})`);
}

/** Where a reconciler stopped reading closed runs (their close time), or null on its first pass. */
export async function getCursor(db: Db, name: string): Promise<Date | null> {
  const { rows } = await db.query<{ close_time: Date }>(
    'SELECT close_time FROM reconciler_cursors WHERE name = $1',
    [name],
  );
  return rows[0]?.close_time ?? null;
}

/** Moves the cursor forward (never back). */
export async function setCursor(db: Db, name: string, closeTime: Date): Promise<void> {
  await db.query(
    `INSERT INTO reconciler_cursors (name, close_time) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET close_time = GREATEST(reconciler_cursors.close_time, EXCLUDED.close_time),
       updated_at = now()`,
    [name, closeTime],
  );
}
