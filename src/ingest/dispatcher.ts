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
/**
 * Events accepted per second in this process beyond which intake is in a burst: starting
 * workflows then yields the CPU to accepting (measured: 2,040–2,090 single requests/s with no
 * dispatch beside them, 270–800/s with dispatch at full pace, docs/architecture.md).
 */
export const BURST_PER_SECOND = 200;
/** While a burst lasts, the sweep claims this many events at a time, once a second: delivery goes on, slower. */
const BURST_SWEEP_BATCH = 25;
const BURST_SWEEP_PAUSE_MS = 1_000;

/** A count of the last second's events, in ten buckets of 100 ms. */
export function lastSecondCounter(now: () => number = Date.now) {
  const buckets = new Array<number>(10).fill(0);
  let at = Math.floor(now() / 100);
  const advance = () => {
    const t = Math.floor(now() / 100);
    for (let k = at + 1; k <= Math.min(t, at + 10); k++) buckets[k % 10] = 0;
    at = Math.max(at, t);
  };
  return {
    add(n: number) {
      advance();
      buckets[at % 10]! += n;
    },
    total(): number {
      advance();
      return buckets.reduce((a, b) => a + b, 0);
    },
  };
}
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
  /** Tells the dispatcher how many events this process just accepted (a burst slows dispatch). */
  accepted(n: number): void;
  /** Whether intake in this process is in a burst (more than BURST_PER_SECOND accepted in the last second). */
  inBurst(): boolean;
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
  const intake = lastSecondCounter();
  const inBurst = () => intake.total() > BURST_PER_SECOND;

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

  async function sweepOnce(batch = SWEEP_BATCH): Promise<number> {
    const claimed = await claimForDispatch(db, batch, SWEEP_LEASE_MS);
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
        // A burst of intake here: a small batch a second, so accepting keeps the CPU.
        const burst = inBurst();
        const claimed = await sweepOnce(burst ? BURST_SWEEP_BATCH : SWEEP_BATCH);
        backoff = SWEEP_IDLE_MS;
        if (burst) pause = BURST_SWEEP_PAUSE_MS;
        else if (claimed === SWEEP_BATCH) pause = 0; // more are waiting
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
    // In a burst, accepted events wait for the (slowed) sweep instead of starting at once.
    hasRoom: () => !stopped && !inBurst() && queue.length + inFlight < LOCAL_CAPACITY,
    accepted: (n) => intake.add(n),
    inBurst,
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
    sweepOnce: () => sweepOnce(),
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
