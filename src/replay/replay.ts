import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { mapBounded } from '../concurrency.js';
import {
  claimReplay,
  findDeadLetters,
  getDeadLetter,
  releaseReplay,
  setReplayRun,
  type DeadLetter,
  type DeadLetterQuery,
} from '../db/dead-letters.js';
import { claimNextRun, listDeliveriesOfEvent } from '../db/deliveries.js';
import { getEvent, markReplayed, unmarkReplayed, type StoredEvent } from '../db/events.js';
import type { Db } from '../db/pool.js';
import { eventWorkflowId } from '../domain/ids.js';
import {
  closesWithin,
  runningDeliveryRun,
  startDeliveryWorkflow,
  startEventWorkflow,
} from '../temporal/starts.js';
import { FINAL_EVENT_STATUSES, type DeliveryStatus } from '../../workflows/contract.js';

/** Delivery statuses written by the delivery workflow's last step. */
const SETTLED_DELIVERY: ReadonlySet<DeliveryStatus> = new Set<DeliveryStatus>([
  'delivered',
  'failed',
  'dead_lettered',
]);

/** A replay that did not start, and why (the API answers 409). */
export type NotReplayed = { refused: 'already_replayed' | 'busy' | 'not_dispatched'; reason: string };

export type DeadLetterReplayed = { deliveryId: string; run: number };

/**
 * Replays: a dead letter's delivery as a new run with fresh attempts, or a whole event again to
 * the endpoints that match it now. Each refuses while the delivery (or event) it would start
 * again still runs, so two runs never share a workflow id's attempts.
 */
export function createReplay({ db, temporal, taskQueue }: { db: Db; temporal: Client; taskQueue: string }) {
  /**
   * Claims the dead letter once, starts a new run of its delivery with fresh attempts. A delivery
   * whose workflow still runs is not claimed: the dead letter stays replayable. A start that fails
   * gives the claim back, so no replay is lost between the two stores.
   */
  async function replayDeadLetter(dead: DeadLetter): Promise<DeadLetterReplayed | NotReplayed> {
    const already = { refused: 'already_replayed', reason: `dead letter ${dead.id} was replayed` } as const;
    const event = await getEvent(db, dead.eventId, dead.applicationId);
    // A letter resolved meanwhile (its delivery was reset and delivered) has nothing to replay.
    if (!event || dead.replayedAt || dead.resolvedAt) return already;
    const running = await runningDeliveryRun(temporal, dead.deliveryId, dead.run);
    if (running !== null)
      return { refused: 'busy', reason: `delivery ${dead.deliveryId} is still running (run ${running})` };
    if (!(await claimReplay(db, dead.id))) return already;
    const run = await claimNextRun(db, {
      id: dead.deliveryId,
      applicationId: dead.applicationId,
      eventId: dead.eventId,
      endpointId: dead.endpointId,
    });
    await setReplayRun(db, dead.id, run);
    try {
      await startDeliveryWorkflow(temporal, taskQueue, event, dead.endpointId, run, { replayOf: dead.id });
    } catch (err) {
      await releaseReplay(db, dead);
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        return { refused: 'busy', reason: `delivery ${dead.deliveryId} was started by another replay` };
      throw err;
    }
    return { deliveryId: dead.deliveryId, run };
  }

  return {
    replayDeadLetter,

    /** A dead letter of the application by id: undefined when it has none such. */
    async replayDeadLetterById(applicationId: string, id: string) {
      const dead = await getDeadLetter(db, applicationId, id);
      return dead && replayDeadLetter(dead);
    },

    /** Every not-yet-replayed dead letter matching the filter: what started, and what was skipped. */
    async replayDeadLetters(applicationId: string, filter: Omit<DeadLetterQuery, 'replayed' | 'resolved'>) {
      const matches = await findDeadLetters(db, applicationId, {
        ...filter,
        replayed: false,
        resolved: false,
      });
      const started: Array<{ deadLetterId: string } & DeadLetterReplayed> = [];
      const skipped: Array<{ deadLetterId: string; reason: string }> = [];
      for (const dead of matches) {
        const r = await replayDeadLetter(dead);
        if ('refused' in r) {
          if (r.refused === 'busy') skipped.push({ deadLetterId: dead.id, reason: r.reason });
        } else started.push({ deadLetterId: dead.id, ...r });
      }
      return { started, skipped };
    },

    /** An event of the application by id (see replayEvent): undefined when it has none such. */
    async replayEventById(applicationId: string, id: string) {
      const event = await getEvent(db, id, applicationId);
      return event && this.replayEvent(event);
    },

    /** Delivers the event again to the endpoints that match it now, each delivery as a new run. */
    async replayEvent(event: StoredEvent): Promise<{ replays: number; workflowId: string } | NotReplayed> {
      if (!event.dispatchedAt)
        return { refused: 'not_dispatched', reason: `event ${event.id} is waiting for its first delivery` };
      // An event with an outcome closes its workflow right after recording it: wait for that.
      const settled = FINAL_EVENT_STATUSES.has(event.status) ? 5_000 : 0;
      if (!(await closesWithin(temporal, eventWorkflowId(event.id), settled)))
        return { refused: 'busy', reason: `event ${event.id} is still being delivered` };
      // A dead letter's replay runs one delivery outside the event's workflow. A delivery whose
      // outcome is recorded closes its workflow right after (its last step wrote the row): wait
      // for that too, so a replay sent the moment the API says "delivered" is not refused.
      const deliveries = await listDeliveriesOfEvent(db, event.id);
      const running = await mapBounded(
        deliveries,
        16,
        async (d) => !(await closesWithin(temporal, d.id, SETTLED_DELIVERY.has(d.status) ? 5_000 : 0)),
      );
      const busy = deliveries.find((_, i) => running[i]);
      if (busy) return { refused: 'busy', reason: `delivery ${busy.id} of event ${event.id} is running` };
      const mark = await markReplayed(db, event.id);
      try {
        const workflowId = await startEventWorkflow(temporal, taskQueue, event, { replay: true });
        return { replays: mark?.replays ?? 0, workflowId };
      } catch (err) {
        // Not started (Temporal unreachable): the event is not left `replaying` with no workflow.
        if (mark) await unmarkReplayed(db, event.id, mark);
        throw err;
      }
    },
  };
}

export type Replay = ReturnType<typeof createReplay>;
