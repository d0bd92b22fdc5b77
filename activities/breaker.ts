import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { CircuitConfig } from '../src/domain/circuit.js';
import { endpointWorkflowId } from '../src/domain/ids.js';
import {
  adoptWaiterRows,
  claimWaiters,
  deleteReleasedWaiters,
  endpointExists,
  inFlightWaiters,
  waitingDeliveriesOf,
  type Waiter,
} from '../src/db/circuit-waiters.js';
import { endpointRef, getCircuit, publishCircuit, type CircuitMirror } from '../src/db/circuits.js';
import type { Db } from '../src/db/pool.js';
import type { PluginHost } from '../src/plugins/host.js';
import {
  breakerOutcomeSignal,
  breakerUpgradeSignal,
  circuitPermitSignal,
  circuitWaitSignal,
  workflowTypes,
  type BreakerOutcome,
  type CircuitPermit,
  type EndpointWorkflow,
  type EndpointWorkflowInput,
  type ReleaseWaitersInput,
  type ReleaseWaitersResult,
} from '../workflows/contract.js';
import type { HttpAttempt } from './http-post.js';

/** A breaker that has seen failures (or is not closed) hears about every outcome; a clean one, only failures. */
export function breakerNeedsToHear(
  outcome: HttpAttempt['outcome'],
  mirror: CircuitMirror | undefined,
  probe: boolean,
): boolean {
  if (probe || outcome === 'retryable') return true;
  return mirror !== undefined && (mirror.state !== 'closed' || mirror.consecutiveFailures > 0);
}

/**
 * Reports an attempt's outcome to the endpoint's breaker workflow, starting it if needed
 * (signal-with-start is a client call, so it is made from an activity, not a workflow).
 */
export async function tellBreaker(
  temporal: Client,
  taskQueue: string,
  endpointId: string,
  config: CircuitConfig,
  outcome: BreakerOutcome,
): Promise<void> {
  const input: EndpointWorkflowInput = { endpointId, config };
  await temporal.workflow.signalWithStart<EndpointWorkflow, [BreakerOutcome]>(workflowTypes.endpoint, {
    workflowId: endpointWorkflowId(endpointId),
    taskQueue,
    args: [input],
    signal: breakerOutcomeSignal,
    signalArgs: [outcome],
  });
}

/** How long past its cooldown an open circuit may stay open before a waiter checks its breaker runs. */
const OPEN_OVERDUE_MS = 60_000;

/**
 * A waiter (its row written) tells the breaker only what the breaker cannot see in the table:
 * that it still keeps its waiters in its state (`upgrade`: it continues as new onto the table),
 * that it is half-open with no probe out (`wait`: a nudge to offer one), or nothing. A circuit
 * open well past its cooldown is checked the same way. Returns `no breaker` when none runs.
 */
export async function askBreaker(
  temporal: Client,
  endpointId: string,
  workflowId: string,
  mirror: CircuitMirror,
): Promise<'asked' | 'not needed' | 'no breaker'> {
  const now = Date.now();
  const handle = temporal.workflow.getHandle(endpointWorkflowId(endpointId));
  let send: (() => Promise<void>) | undefined;
  if (!mirror.waiterTable) send = () => handle.signal(breakerUpgradeSignal);
  else if (mirror.state === 'half_open' && !(mirror.probeUntil && mirror.probeUntil.getTime() > now))
    send = () => handle.signal(circuitWaitSignal, { workflowId });
  else if (mirror.state === 'open' && mirror.openUntil && mirror.openUntil.getTime() + OPEN_OVERDUE_MS < now)
    send = () => handle.signal(circuitWaitSignal, { workflowId });
  if (!send) return 'not needed';
  try {
    await send();
    return 'asked';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'no breaker';
    throw err;
  }
}

/** The breaker workflow's own activity: its state mirrored to PostgreSQL, and the plugin hooks. */
export function createBreakerActivities({
  db,
  temporal,
  plugins,
}: {
  db: Db;
  temporal: Client;
  plugins?: PluginHost | undefined;
}) {
  const signal = permitSignaller(temporal);
  return {
    /** The breaker workflow's mirror of its state, read by deliveries to skip it when healthy. */
    async publishCircuitState(
      mirror: Omit<CircuitMirror, 'openUntil' | 'probeUntil'> & {
        openUntil: number | null;
        probeUntil?: number | null;
      },
    ): Promise<void> {
      const { probeUntil, ...rest } = mirror;
      const written = await publishCircuit(db, {
        ...rest,
        openUntil: mirror.openUntil === null ? null : new Date(mirror.openUntil),
        ...(probeUntil === undefined
          ? {}
          : { probeUntil: probeUntil === null ? null : new Date(probeUntil) }),
      });
      if (!written || !plugins) return;
      const wasClosed = written.previous === null || written.previous === 'closed';
      if (wasClosed === (mirror.state === 'closed')) return; // no opening or closing
      if (!plugins.has(mirror.state === 'closed' ? 'endpoint:circuit_closed' : 'endpoint:circuit_opened'))
        return;
      const endpoint = await endpointRef(db, mirror.endpointId);
      if (!endpoint) return;
      if (mirror.state === 'closed') plugins.emit('endpoint:circuit_closed', { endpoint });
      else
        plugins.emit('endpoint:circuit_opened', {
          endpoint,
          consecutiveFailures: mirror.consecutiveFailures,
        });
    },

    /**
     * Every waiting delivery of the endpoint gets `permit`, in pages, from the client (no
     * workflow-side pending signals). Heartbeats its progress; a retry after a crash resumes.
     */
    async releaseWaiters(input: ReleaseWaitersInput): Promise<ReleaseWaitersResult> {
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as ReleaseProgress | undefined;
      let last: ReleaseProgress = resumed ?? { released: 0 };
      // Also between pages: a page of 500 signals may take a while when the engine is slow.
      const alive = setInterval(() => ctx.heartbeat(last), 5_000);
      try {
        return await releaseWaiterRows({
          db,
          ...input,
          signal,
          heartbeat: (p) => ctx.heartbeat((last = { ...p })),
          ...(resumed ? { resumed } : {}),
        });
      } finally {
        clearInterval(alive);
      }
    },

    /**
     * Half-open: the oldest waiter becomes the probe. Returns its workflow id, or null when none
     * waits (the breaker then waits for a delivery's nudge).
     */
    async offerProbe({ endpointId }: { endpointId: string }): Promise<string | null> {
      for (;;) {
        const [waiter] = await claimWaiters(db, endpointId, 'probe', 1);
        if (!waiter) return null;
        const outcome = await signal(waiter.workflowId, 'probe');
        await deleteReleasedWaiters(db, endpointId, [waiter.workflowId]);
        if (outcome === 'signalled') return waiter.workflowId;
      }
    },

    /** An old-shape breaker's waiters (carried in its state, or signalled by old deliveries) into the table. */
    async adoptWaiters({ endpointId, workflowIds }: { endpointId: string; workflowIds: string[] }) {
      return adoptWaiterRows(db, endpointId, workflowIds);
    },
  };
}

/** What a release has done, heartbeated so a retry goes on from there. */
export interface ReleaseProgress {
  released: number;
  /** Releasing by the deliveries table (the endpoint was deleted): the last delivery id done. */
  after?: string;
}

export type PermitSignaller = (workflowId: string, permit: CircuitPermit) => Promise<'signalled' | 'gone'>;

/** A permit signal from the client; a delivery that has ended (or never ran) cannot wait any more. */
export function permitSignaller(temporal: Client): PermitSignaller {
  return async (workflowId, permit) => {
    try {
      await temporal.workflow.getHandle(workflowId).signal(circuitPermitSignal, permit);
      return 'signalled';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'gone';
      throw err;
    }
  };
}

export const RELEASE_PAGE = 500;
export const SIGNALS_IN_FLIGHT = 32;

/** Runs `fn` over `items` with at most `limit` at once; on the first failure starts no more, and rejects. */
async function eachBounded<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      try {
        await fn(items[next++]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, lane));
  const failure = lanes.find((l) => l.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * The release loop of `releaseWaiters`, with its signaller injected. Each page: rows left
 * in flight by a crashed attempt first, else the next 500 claimed (`released_at` set); each
 * signalled (32 at once); the page deleted; progress heartbeated. So a crash repeats at most the
 * page that was in flight. A `go` release stops when the circuit is no longer closed: those left
 * wait for the next close. When the endpoint was deleted (its rows went with it), the deliveries
 * still waiting for it are found in `deliveries` and released as probes, to end as dead letters.
 */
export async function releaseWaiterRows(opts: {
  db: Db;
  endpointId: string;
  permit: CircuitPermit;
  signal: PermitSignaller;
  heartbeat?: (progress: ReleaseProgress) => void;
  resumed?: ReleaseProgress;
  pageSize?: number;
  inFlight?: number;
}): Promise<ReleaseWaitersResult> {
  const { db, endpointId, permit, signal, heartbeat = () => {} } = opts;
  const pageSize = opts.pageSize ?? RELEASE_PAGE;
  const inFlight = opts.inFlight ?? SIGNALS_IN_FLIGHT;
  const progress: ReleaseProgress = { released: opts.resumed?.released ?? 0 };
  heartbeat(progress);

  if (permit === 'probe' && !(await endpointExists(db, endpointId))) {
    let after = opts.resumed?.after ?? '';
    for (;;) {
      const ids = await waitingDeliveriesOf(db, endpointId, after, pageSize);
      if (ids.length === 0) return { released: progress.released, stopped: false };
      await eachBounded(ids, inFlight, async (id) => void (await signal(id, 'probe')));
      after = ids[ids.length - 1]!;
      progress.released += ids.length;
      progress.after = after;
      heartbeat(progress);
    }
  }

  for (;;) {
    let page: Waiter[] = await inFlightWaiters(db, endpointId, pageSize);
    if (page.length === 0) {
      const state = permit === 'go' ? ((await getCircuit(db, endpointId))?.state ?? 'closed') : 'closed';
      if (state !== 'closed') {
        return { released: progress.released, stopped: true };
      }
      page = await claimWaiters(db, endpointId, permit, pageSize);
    }
    if (page.length === 0) return { released: progress.released, stopped: false };
    await eachBounded(page, inFlight, async (w) => void (await signal(w.workflowId, w.permit)));
    await deleteReleasedWaiters(
      db,
      endpointId,
      page.map((w) => w.workflowId),
    );
    progress.released += page.length;
    heartbeat(progress);
  }
}
