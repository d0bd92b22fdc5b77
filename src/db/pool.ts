import pg from 'pg';

export type Db = pg.Pool;

export interface PoolTimeouts {
  /** Waiting for a connection (a new one, or a free one of the pool). */
  connectMs?: number;
  /** A query's answer; 0 waits for ever (migrations, backups). */
  queryTimeoutMs?: number;
}

/**
 * Fail fast while the database is down or frozen: a request gets its 503 (src/api/problem.ts)
 * within a few seconds instead of hanging, and a stopping worker is not held up by a query.
 */
export const DB_TIMEOUTS = { connectMs: 2_000, queryTimeoutMs: 3_000 } as const;

export function createPool(connectionString: string, max = 10, timeouts: PoolTimeouts = {}): Db {
  const { connectMs, queryTimeoutMs } = { ...DB_TIMEOUTS, ...timeouts };
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: connectMs,
    ...(queryTimeoutMs ? { query_timeout: queryTimeoutMs } : {}),
    // Notices a dead peer (a server that vanished without closing the connection).
    keepAlive: true,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor may a checked-out one (the pool listens only to idle clients): PostgreSQL killed during a
  // transaction emits "terminating connection due to unexpected postmaster exit" on it. The
  // query in flight still fails, and the client is thrown away when it is released with the error.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
