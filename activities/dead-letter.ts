import type { Client } from '@temporalio/client';
import { deliveryWorkflowId, eventWorkflowId } from '../src/domain/ids.js';
import { endpointRef } from '../src/db/circuits.js';
import { deadLetterDelivery, type DeadLetterKind } from '../src/db/dead-letters.js';
import { getEvent } from '../src/db/events.js';
import { newId } from '../src/db/ids.js';
import type { Db } from '../src/db/pool.js';
import type { Metrics } from '../src/metrics.js';
import type { PluginHost } from '../src/plugins/host.js';
import { readRunStop, stopReason, type RunStop } from '../src/temporal/stops.js';
import type { DeliveryRef, DeliveryStop, EventRef } from '../workflows/contract.js';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { unregisterWaiter } from '../src/db/circuit-waiters.js';
import { markEventStopped, pendingClaims, routingState } from '../src/db/fanout.js';
import { routeNext } from './routing.js';
import { currentRunId, writeAsOwner } from './ownership.js';

export interface DeadLetterDeps {
  db: Db;
  temporal: Client;
  metrics?: Metrics | undefined;
  plugins?: PluginHost | undefined;
}

export interface DeliveryEnd {
  kind: DeadLetterKind;
  attempts: number;
  reason: string;
  statusCode: number | null;
  error: string | null;
  /** Who terminated or cancelled the workflow (its Temporal identity). */
  stoppedBy?: string | null;
}

/**
 * Ends the delivery of `ref` run by Temporal run `workflowRunId` as a dead letter of `kind`, and
 * counts it and tells the plugins only when this call wrote it (a re-run activity, or the
 * reconciler seeing a run again, counts nothing twice). True when it was written now.
 */
export async function endAsDeadLetter(
  { db, temporal, metrics, plugins }: DeadLetterDeps,
  ref: DeliveryRef,
  workflowRunId: string,
  end: DeliveryEnd,
): Promise<boolean> {
  const run = ref.run ?? 0;
  const deliveryId = deliveryWorkflowId(ref.eventId, ref.endpointId);
  const stoppedBy = end.stoppedBy ?? null;
  const written = await writeAsOwner(temporal, deliveryId, workflowRunId, (force) =>
    deadLetterDelivery(
      db,
      {
        id: newId('dl'),
        applicationId: ref.applicationId,
        deliveryId,
        eventId: ref.eventId,
        endpointId: ref.endpointId,
        run,
        attempts: end.attempts,
        reason: end.reason,
        lastStatusCode: end.statusCode,
        lastError: end.error,
        kind: end.kind,
        stoppedBy,
        workflowRunId,
      },
      { force },
    ),
  );
  if (!written.inserted) return false;
  // A delivery cancelled or terminated while it waited for the circuit waits no more.
  await unregisterWaiter(db, ref.endpointId, deliveryId);
  if (end.kind === 'failed') metrics?.deadLettered(ref.endpointId);
  else metrics?.deliveryStopped(ref.endpointId, end.kind);
  if (plugins?.has('webhook:dead_lettered')) {
    const [endpoint, event] = await Promise.all([
      endpointRef(db, ref.endpointId),
      getEvent(db, ref.eventId, ref.applicationId),
    ]);
    if (endpoint && event) {
      plugins.emit('webhook:dead_lettered', {
        webhook: { endpoint: endpoint.url, event: { id: event.id, type: event.type } },
        endpoint,
        event: { id: event.id, type: event.type },
        deliveryId,
        attempts: end.attempts,
        reason: end.reason,
        kind: end.kind,
        stoppedBy,
      });
    }
  }
  return true;
}

/** Endpoints routed per page while a stopped event's remaining deliveries are written. */
const STOP_PAGE = 500;

/**
 * An event workflow run was cancelled or terminated: the deliveries it started run on (they are
 * abandoned to themselves), and every delivery it had not started becomes a replayable dead
 * letter of the same kind: claimed but not started, and every matching endpoint not routed yet.
 * The event records who stopped it. Idempotent: a second call for the same run does nothing.
 */
export async function stopEventRun(
  deps: DeadLetterDeps,
  ref: EventRef,
  eventRunId: string,
  stop: RunStop,
  heartbeat: () => void = () => undefined,
): Promise<number> {
  const state = await routingState(deps.db, ref.eventId);
  if (!state || state.stoppedRun === eventRunId) return 0;
  const reason = stopReason(stop);
  let ended = 0;
  const end = async (endpointId: string, run: number) => {
    const written = await endAsDeadLetter(deps, { ...ref, endpointId, run }, eventRunId, {
      kind: stop.kind,
      attempts: 0,
      reason,
      statusCode: null,
      error: null,
      stoppedBy: stop.identity,
    });
    if (written) ended++;
  };
  // Claimed by this run but maybe never started (stopped between the claim and the start).
  for (const d of await pendingClaims(deps.db, ref.eventId, eventRunId)) {
    const started = await deps.temporal.workflow
      .getHandle(deliveryWorkflowId(ref.eventId, d.endpointId))
      .describe()
      .then(
        (w) => w.status.name === 'RUNNING',
        (err: unknown) => (err instanceof WorkflowNotFoundError ? false : Promise.reject(err)),
      );
    if (!started) await end(d.endpointId, d.run);
    heartbeat();
  }
  // Not routed yet: routed now, for this run, and ended at once. (An event routed by the workflow
  // before `event-fanout-2` has no cursor: its matching was all or nothing, and is left as it is.)
  if (state.phase === null || (state.phase === 'routing' && state.pagedRouting)) {
    for (let cursor = state.cursor, first = true; first || cursor !== null; first = false) {
      const page = await routeNext(deps.db, ref, {
        cursor,
        limit: STOP_PAGE,
        eventRunId,
        firstOfReset: false,
      });
      for (const d of page.start) await end(d.endpointId, d.run);
      cursor = page.cursor;
      heartbeat();
    }
  }
  await markEventStopped(deps.db, ref.eventId, { ...stop, runId: eventRunId });
  return ended;
}

export function createDeadLetterActivities(deps: DeadLetterDeps) {
  return {
    /**
     * The cleanup of a cancelled event workflow run (its cancellation path only): see stopEventRun.
     * A regular activity, heartbeating: a wide event may have thousands of endpoints left.
     */
    async stopFanout(ref: EventRef): Promise<number> {
      const ctx = Context.current();
      const runId = currentRunId();
      const stop = (await readRunStop(deps.temporal, eventWorkflowId(ref.eventId), runId)) ?? {
        kind: 'cancelled' as const,
        reason: null,
        identity: null,
      };
      return stopEventRun(deps, ref, runId, { ...stop, kind: 'cancelled' }, () => ctx.heartbeat());
    },

    /** Stores the delivery as a dead letter: attempts exhausted or a failure that is not retried. */
    async deadLetter(
      ref: DeliveryRef,
      last: { attempts: number; reason: string; statusCode: number | null; error: string | null },
    ): Promise<void> {
      await endAsDeadLetter(deps, ref, currentRunId(), { kind: 'failed', ...last });
    },

    /**
     * The cleanup of a cancelled delivery (called only on its cancellation path): the delivery
     * becomes `cancelled`, with who cancelled it and why read from its history, and a dead letter
     * of kind `cancelled`, so it can be replayed.
     */
    async deliveryStopped(ref: DeliveryRef, last: DeliveryStop): Promise<void> {
      const runId = currentRunId();
      const deliveryId = deliveryWorkflowId(ref.eventId, ref.endpointId);
      const stop = (await readRunStop(deps.temporal, deliveryId, runId)) ?? {
        kind: 'cancelled' as const,
        reason: null,
        identity: null,
      };
      await endAsDeadLetter(deps, ref, runId, {
        kind: 'cancelled',
        attempts: last.attempts,
        reason: stopReason({ ...stop, kind: 'cancelled' }),
        statusCode: last.lastStatusCode,
        error: last.lastError,
        stoppedBy: stop.identity,
      });
    },
  };
}
