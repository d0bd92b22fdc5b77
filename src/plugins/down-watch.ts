import type { Logger } from 'pino';
import { claimDownEndpoints } from '../db/circuits.js';
import type { Db } from '../db/pool.js';
import type { PluginHost } from './host.js';

/**
 * Fires `endpoint:down` once per outage: for each circuit that has not been closed for
 * `downAfterMs` (its breaker's mirror in PostgreSQL keeps `down_since`), claimed atomically so that
 * one worker of many announces it. Checks every `downAfterMs / 4`, at most every 15 s.
 */
export function watchDownEndpoints(
  db: Db,
  plugins: PluginHost,
  downAfterMs: number,
  log: Logger,
): () => void {
  const every = Math.max(250, Math.min(15_000, Math.floor(downAfterMs / 4)));
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      for (const { endpoint, downSince } of await claimDownEndpoints(db, downAfterMs)) {
        plugins.emit('endpoint:down', {
          endpoint,
          downSince: downSince.toISOString(),
          downTime: Math.round((Date.now() - downSince.getTime()) / 60_000),
        });
      }
    } catch (err) {
      log.warn({ err }, 'endpoint-down check failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), every);
  timer.unref();
  return () => clearInterval(timer);
}
