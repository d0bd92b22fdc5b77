import type { Logger } from 'pino';

/** Thrown when a wait is given up because the process is stopping. */
export class StoppedWhileWaiting extends Error {
  constructor(what: string) {
    super(`stopped while waiting for ${what}`);
    this.name = 'StoppedWhileWaiting';
  }
}

/**
 * Tries `attempt` until it succeeds: an external dependency (DATABASE_URL, TEMPORAL_ADDRESS) that
 * is down when Hookline starts is waited for, not a reason to exit. Backoff 1 s doubling to 10 s;
 * one log line when the wait begins, then one every 30 s, and one when it ends. `signal` ends the
 * wait (the process is asked to stop).
 */
export async function waitFor<T>(
  what: string,
  attempt: () => Promise<T>,
  { log, signal }: { log: Logger; signal?: AbortSignal | undefined },
): Promise<T> {
  let delay = 1_000;
  let since: number | undefined;
  let lastLog = 0;
  for (;;) {
    if (signal?.aborted) throw new StoppedWhileWaiting(what);
    try {
      const value = await attempt();
      if (since !== undefined) log.info({ waitedMs: Date.now() - since }, `${what} answers: starting`);
      return value;
    } catch (err) {
      since ??= Date.now();
      if (Date.now() - lastLog >= 30_000) {
        lastLog = Date.now();
        log.warn({ err: (err as Error).message }, `${what} is not reachable; waiting for it`);
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    delay = Math.min(delay * 2, 10_000);
  }
}
