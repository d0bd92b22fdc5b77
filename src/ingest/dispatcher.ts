import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { mapBounded } from '../concurrency.js';
import { claimForDispatch, deferDispatch, markDispatched, type StoredEvent } from '../db/events.js';
import type { Db } from '../db/pool.js';
import type { Metrics } from '../metrics.js';
import { dispatchEventWorkflow } from '../temporal/starts.js';

/** How long the accepting process holds a new event for its own start before any dispatcher may. */
export const IMMEDIATE_LEASE_MS = 10_000;
/** How long a sweep holds the events it claimed. */
const SWEEP_LEASE_MS = 30_000;
/** Events claimed per sweep, and starts in flight at once. */
const SWEEP_BATCH = 100;
const START_CONCURRENCY = 16;
/** Events queued or starting in this process for an immediate start; beyond, the sweep has them. */
const LOCAL_CAPACITY = 256;
/** A start that takes longer is abandoned (the event is left to a later sweep). */
const START_DEADLINE_MS = 5_000;
const SWEEP_IDLE_MS = 1_000;
const SWEEP_BACKOFF_MAX_MS = 10_000;

export interface DispatcherDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  metrics?: Metrics;
  log: Logger;
}

export interface Dispatcher {
  /** Whether an event accepted now can be started at once here (else a sweep starts it). */
  hasRoom(): boolean;
  /** Starts the workflows of events this process just committed (with a lease), in the background. */
  submit(events: readonly StoredEvent[]): void;
  /** Claims and starts backlogged events, repeatedly, until stopped (processes that run a worker). */
  startSweeping(): void;
  /** One sweep: claims a batch and starts it. Resolves to the number of events claimed. */
  sweepOnce(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts the `eventWorkflow` of every committed event, exactly once per event id (the workflow
 * id is the dedup key; a start that finds it counts as started). Two paths share the work: the
 * accepting process starts its own events at once (they carry a short lease), and every worker
 * process sweeps the table for events with no live lease, in priority then age order, claimed
 * with `FOR UPDATE SKIP LOCKED` so processes never claim the same rows.
 */
export function createDispatcher({ db, temporal, taskQueue, metrics, log }: DispatcherDeps): Dispatcher {
  const queue: StoredEvent[] = [];
  let inFlight = 0;
  let stopped = false;
  let engineDown = false;
  const idle = new Set<() => void>();
  let sweeper: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  /** Starts one event's workflow; true when it exists afterwards. */
  async function start(event: StoredEvent): Promise<boolean> {
    try {
      const result = await temporal.withDeadline(Date.now() + START_DEADLINE_MS, () =>
        dispatchEventWorkflow(temporal, taskQueue, event),
      );
      metrics?.eventDispatched(result);
      if (engineDown) {
        engineDown = false;
        log.info('Temporal answers again: dispatching the backlog');
        wake?.(); // the sweep may be backing off
      }
      return true;
    } catch (err) {
      metrics?.eventDispatched('failed');
      if (!engineDown) {
        engineDown = true;
        log.warn({ err }, 'starting event workflows failed; events stay accepted and are retried');
      }
      return false;
    }
  }

  async function startAll(events: readonly StoredEvent[], retryFailedInMs: number): Promise<number> {
    const ok = await mapBounded(events, START_CONCURRENCY, start);
    const started = events.filter((_, i) => ok[i]).map((e) => e.id);
    const failed = events.filter((_, i) => !ok[i]).map((e) => e.id);
    await Promise.all([markDispatched(db, started), deferDispatch(db, failed, retryFailedInMs)]);
    return failed.length;
  }

  function pump(): void {
    while (!stopped && inFlight < START_CONCURRENCY && queue.length) {
      // Higher priority first among what waits here.
      const batch = queue.splice(0, Math.min(queue.length, START_CONCURRENCY - inFlight));
      inFlight += batch.length;
      void startAll(batch, 1_000)
        .catch((err: unknown) => log.warn({ err }, 'recording dispatched events failed; a sweep will'))
        .finally(() => {
          inFlight -= batch.length;
          if (queue.length) pump();
          else if (inFlight === 0) for (const done of idle) done();
        });
    }
  }

  async function sweepOnce(): Promise<number> {
    const claimed = await claimForDispatch(db, SWEEP_BATCH, SWEEP_LEASE_MS);
    if (!claimed.length) return 0;
    const failed = await startAll(claimed, 1_000);
    if (failed) throw new EngineUnavailable(failed);
    return claimed.length;
  }

  async function sweepLoop(): Promise<void> {
    let backoff = SWEEP_IDLE_MS;
    while (!stopped) {
      let pause = SWEEP_IDLE_MS;
      try {
        const claimed = await sweepOnce();
        backoff = SWEEP_IDLE_MS;
        if (claimed === SWEEP_BATCH) pause = 0; // more are waiting
      } catch (err) {
        if (!(err instanceof EngineUnavailable)) log.warn({ err }, 'dispatch sweep failed');
        pause = backoff;
        backoff = Math.min(backoff * 2, SWEEP_BACKOFF_MAX_MS);
      }
      if (pause > 0 && !stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  }

  return {
    hasRoom: () => !stopped && queue.length + inFlight < LOCAL_CAPACITY,
    submit(events) {
      if (stopped || !events.length) return;
      queue.push(...events);
      const rank = { high: 0, normal: 1, low: 2 } as const;
      queue.sort((a, b) => rank[a.priority] - rank[b.priority]);
      pump();
    },
    startSweeping() {
      sweeper ??= sweepLoop();
    },
    sweepOnce,
    async stop() {
      stopped = true;
      wake?.();
      // Queued events keep their lease; a sweep elsewhere (or after a restart) starts them.
      queue.length = 0;
      const drained = inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => idle.add(r));
      await Promise.race([drained, new Promise((r) => setTimeout(r, START_DEADLINE_MS + 1_000))]);
      await sweeper;
    },
  };
}

class EngineUnavailable extends Error {
  constructor(readonly failed: number) {
    super(`${failed} event workflow start(s) failed`);
  }
}
