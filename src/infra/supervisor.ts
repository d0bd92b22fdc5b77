import type { Logger } from 'pino';
import { Counter } from 'prom-client';

/** A started embedded part: how it ends and how to stop it. */
export interface RunningPart {
  exited: Promise<string>;
  stop(): Promise<void>;
}

export interface Supervised<T extends RunningPart> {
  /** The part as first started (its address and port stay the same across restarts). */
  first: T;
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  /** As logged and in the metric's `part` label: `postgres`, `temporal`. */
  part: string;
  log: Logger;
  /** Restart attempts in a row before giving up; a run of a minute or more resets the count. */
  maxAttempts?: number;
  /** First backoff; doubles after each failed attempt, capped at 30 s. */
  baseDelayMs?: number;
  onRestart?: (part: string) => void;
  /** The part is down for good: the process should exit non-zero so an outer supervisor acts. */
  onGiveUp: (err: Error) => void;
}

const STABLE_MS = 60_000;

/**
 * Restarts an embedded part that exits on its own, with exponential backoff: one log line per
 * exit and per restart. After `maxAttempts` failed restarts in a row it gives up through
 * `onGiveUp`. The part restarts on the same port and data, so clients reconnect by themselves.
 */
export async function supervise<T extends RunningPart>(
  start: () => Promise<T>,
  opts: SuperviseOptions,
): Promise<Supervised<T>> {
  const maxAttempts = opts.maxAttempts ?? 5;
  const baseDelayMs = opts.baseDelayMs ?? 1000;
  const first = await start();
  let current: RunningPart = first;
  let stopping = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const watch = async () => {
    let failures = 0;
    for (;;) {
      const since = Date.now();
      const reason = await current.exited;
      if (stopping) return;
      if (Date.now() - since >= STABLE_MS) failures = 0;
      opts.log.warn({ part: opts.part, reason }, `${opts.part} exited unexpectedly (${reason}); restarting`);
      let lastError: unknown;
      for (;;) {
        if (failures >= maxAttempts) {
          opts.log.error(
            { part: opts.part, err: lastError },
            `${opts.part} could not be restarted after ${maxAttempts} attempts; giving up`,
          );
          opts.onGiveUp(
            new Error(
              `embedded ${opts.part} exited (${reason}) and could not be restarted after ${maxAttempts} attempts: ` +
                (lastError instanceof Error ? lastError.message : String(lastError)),
            ),
          );
          return;
        }
        await sleep(Math.min(30_000, baseDelayMs * 2 ** failures));
        if (stopping) return;
        failures++;
        try {
          current = await start();
          if (stopping) return void (await current.stop());
          opts.log.warn({ part: opts.part, attempt: failures }, `${opts.part} restarted`);
          opts.onRestart?.(opts.part);
          break;
        } catch (err) {
          lastError = err;
          opts.log.warn(
            { part: opts.part, attempt: failures, err },
            `${opts.part} restart attempt ${failures} failed`,
          );
        }
      }
    }
  };
  const watching = watch();

  return {
    first,
    async stop() {
      stopping = true;
      wake?.();
      await current.stop();
      await watching;
    },
  };
}

/**
 * `hookline_embedded_restarts_total{part}`: made before the registry exists (the embedded parts
 * start first), registered into it by the platform.
 */
export const embeddedRestarts = () =>
  new Counter({
    name: 'hookline_embedded_restarts_total',
    help: 'Restarts of an embedded part (postgres, temporal) after it exited on its own',
    labelNames: ['part'],
    registers: [],
  });
