import { dispatchBacklog } from '../db/events.js';
import type { Db } from '../db/pool.js';

export interface Backlog {
  /** Committed events that have no workflow yet. */
  pending: number;
  /** Age of the oldest of them, in seconds (0 when none). */
  oldestSeconds: number;
}

export interface BacklogWatch {
  /** The last reading, plus the events this process accepted since. */
  current(): Backlog;
  /** Events this process just committed (counted until the next reading). */
  added(n: number): void;
  /** Reads the backlog now. */
  refresh(): Promise<Backlog>;
  stop(): void;
}

/**
 * The dispatch backlog, read from PostgreSQL once a second (one indexed count), so the ingest cap
 * and the metrics cost nothing per request. Between readings, this process's own accepted events
 * are added, so a burst cannot overshoot the cap by more than other processes' share.
 */
export function watchBacklog(db: Db, intervalMs = 1_000): BacklogWatch {
  let last: Backlog = { pending: 0, oldestSeconds: 0 };
  let since = 0;
  let reading: Promise<Backlog> | undefined;
  const refresh = () =>
    (reading ??= dispatchBacklog(db)
      .then((b) => {
        last = b;
        since = 0;
        return b;
      })
      .finally(() => (reading = undefined)));
  const timer = setInterval(() => void refresh().catch(() => undefined), intervalMs);
  timer.unref();
  void refresh().catch(() => undefined);
  return {
    current: () => ({ pending: last.pending + since, oldestSeconds: last.oldestSeconds }),
    added: (n) => void (since += n),
    refresh,
    stop: () => clearInterval(timer),
  };
}
