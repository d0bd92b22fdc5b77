import type { Client } from '@temporalio/client';
import { deliveryWorkflowId } from '../src/domain/ids.js';
import { endpointRef } from '../src/db/circuits.js';
import { deadLetterDelivery, type DeadLetterKind } from '../src/db/dead-letters.js';
import { getEvent } from '../src/db/events.js';
import { newId } from '../src/db/ids.js';
import type { Db } from '../src/db/pool.js';
import type { Metrics } from '../src/metrics.js';
import type { PluginHost } from '../src/plugins/host.js';
import { readRunStop, stopReason } from '../src/temporal/stops.js';
import type { DeliveryRef, DeliveryStop } from '../workflows/contract.js';
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

export function createDeadLetterActivities(deps: DeadLetterDeps) {
  return {
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
