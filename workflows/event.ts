import {
  ChildWorkflowCancellationType,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  ParentClosePolicy,
  executeChild,
  makeContinueAsNewFunc,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { deliveryWorkflowId } from '../src/domain/ids.js';
import {
  EVENT_FANOUT_PATCH,
  LOCAL_ACTIVITIES_PATCH,
  fanoutQuery,
  searchAttributes,
  type EventRef,
  type EventWorkflowInput,
  type FanoutProgress,
  type FanoutResult,
} from './contract.js';
import { isIndexed } from './indexing.js';
import { applied } from './patches.js';
import { deliveryWorkflow } from './delivery.js';

const options = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
} as const;
const remote = proxyActivities<Activities>(options);
const local = proxyLocalActivities<Activities>(options);
/** The cleanup of a cancelled run: rare, and it may route thousands of endpoints (heartbeats). */
const { stopFanout } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * Children started per run. Temporal refuses a workflow task that would take a run past 2,000
 * pending children (started and not closed count alike), so a wide event turns its run over
 * (continue-as-new) every window; 500 keeps each run's history under ~1,700 events and < 1 MB.
 */
export const FANOUT_WINDOW = 500;
/** A continued run waits while the event has more deliveries than this not yet attempted. */
export const PACE_PENDING = 1_000;
/** Pacing waits: 1 s doubling to 30 s, at most 60 waits per run (a bounded history). */
const PACE_FIRST_MS = 1_000;
const PACE_MAX_MS = 30_000;
const PACE_MAX_WAITS = 60;
/** Temporal's lowest priority: a wide event's children are demoted at most to it. */
const LOWEST_PRIORITY = 5;
const DEFAULT_PRIORITY = 3;

/**
 * One per accepted event: matches the endpoints a page at a time, starts one child delivery per
 * match in windows, hands them off (they outlive it) and closes. A wide event continues as new
 * with a cursor. The event's outcome is derived in PostgreSQL from the deliveries it started.
 */
export async function eventWorkflow(input: EventWorkflowInput): Promise<FanoutResult | FanoutProgress> {
  if (!applied(input.patchLevel, EVENT_FANOUT_PATCH)) return legacyEventWorkflow(input);
  try {
    return await fanoutRun(input);
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled: the deliveries started keep running; those not started become cancelled dead
    // letters (replayable), and the run ends Canceled in Temporal.
    await CancellationScope.nonCancellable(() => stopFanout(input));
    throw err;
  }
}

async function fanoutRun(input: EventWorkflowInput): Promise<FanoutProgress> {
  const { routePage, fanoutCounts } = local;
  const info = workflowInfo();
  const window = input.window ?? FANOUT_WINDOW;
  const carry = input.fanout;
  const progress: FanoutProgress = {
    shape: 2,
    phase: 'routing',
    run: (carry?.run ?? 0) + 1,
    matched: carry?.matched ?? 0,
    started: carry?.started ?? 0,
    alreadyRunning: carry?.alreadyRunning ?? 0,
    startingNow: 0,
    cursor: carry?.cursor ?? null,
    deliveries: null,
  };
  setHandler(fanoutQuery, () => progress);

  // A continued run first lets the deliveries already started get going (fairness to other events).
  if (carry) {
    progress.phase = 'pacing';
    const threshold = input.pace ?? PACE_PENDING;
    for (
      let wait = 0, ms = PACE_FIRST_MS;
      wait < PACE_MAX_WAITS;
      wait++, ms = Math.min(ms * 2, PACE_MAX_MS)
    ) {
      progress.deliveries = await fanoutCounts(input.eventId);
      if (progress.deliveries.pending <= threshold) break;
      await sleep(ms);
    }
    progress.phase = 'routing';
  }

  // A reset run (its run id differs from the one the reset started from) is a new routing of the
  // event: finished deliveries of the pages it routes get a new run, as in an event replay.
  const reset = info.runId !== info.originalExecutionRunId;
  // Once a page shows the event is wide, its children queue one priority level lower, so the
  // deliveries of narrow events are dispatched first.
  let wide = carry !== undefined;
  let startedHere = 0;
  let pages = 0;
  let cursor = progress.cursor;
  do {
    const page = await routePage(input, {
      cursor,
      limit: window - startedHere,
      firstOfReset: reset && pages++ === 0,
    });
    wide ||= page.cursor !== null;
    progress.phase = 'starting';
    progress.deliveries = page.counts;
    progress.startingNow = page.start.length;
    progress.matched += page.start.length + page.skipped;
    progress.alreadyRunning += page.skipped;
    // A window is started whole: each start is awaited until the child exists (a parent that
    // closes before ChildWorkflowExecutionStarted leaves its child never started).
    await CancellationScope.nonCancellable(() =>
      Promise.all(page.start.map((d) => startDelivery(input, d, wide, progress))),
    );
    startedHere += page.start.length;
    cursor = page.cursor;
    progress.cursor = cursor;
    // A cancel requested while the window was starting takes effect here, not after a continue-as-new.
    if (CancellationScope.current().consideredCancelled)
      throw new CancelledFailure('cancelled between windows');
  } while (cursor !== null && startedHere < window);

  if (cursor === null) {
    progress.phase = 'handed_off';
    return progress;
  }
  const next = makeContinueAsNewFunc<typeof eventWorkflow>(
    isIndexed() ? { typedSearchAttributes: info.typedSearchAttributes } : {},
  );
  return next({
    eventId: input.eventId,
    applicationId: input.applicationId,
    eventType: input.eventType,
    ...(input.patchLevel ? { patchLevel: input.patchLevel } : {}),
    ...(input.window ? { window: input.window } : {}),
    ...(input.pace !== undefined ? { pace: input.pace } : {}),
    fanout: {
      cursor,
      run: progress.run,
      matched: progress.matched,
      started: progress.started,
      alreadyRunning: progress.alreadyRunning,
    },
  });
}

/** Starts one delivery, abandoned to itself: it outlives this run and is never cancelled with it. */
async function startDelivery(
  ref: EventRef,
  d: { endpointId: string; run: number },
  wide: boolean,
  progress: FanoutProgress,
): Promise<void> {
  const info = workflowInfo();
  const priorityKey = info.priority?.priorityKey ?? DEFAULT_PRIORITY;
  try {
    await startChild(deliveryWorkflow, {
      workflowId: deliveryWorkflowId(ref.eventId, d.endpointId),
      args: [
        {
          eventId: ref.eventId,
          applicationId: ref.applicationId,
          endpointId: d.endpointId,
          ...(d.run ? { run: d.run } : {}),
          routed: true,
          // A child of an event run at the patch level runs at it too; an older run's children
          // keep the inputs its history recorded.
          ...(ref.patchLevel ? { patchLevel: ref.patchLevel } : {}),
        },
      ],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      cancellationType: ChildWorkflowCancellationType.ABANDON,
      // The three ids are in the search attributes; no memo (it would be written twice per child).
      ...(isIndexed()
        ? {
            typedSearchAttributes: info.typedSearchAttributes.updateCopy([
              { key: searchAttributes.endpointId, value: d.endpointId },
              { key: searchAttributes.deliveryStatus, value: 'pending' },
            ]),
          }
        : {}),
      ...(wide ? { priority: { priorityKey: Math.min(LOWEST_PRIORITY, priorityKey + 1) } } : {}),
    });
    progress.started++;
  } catch (err) {
    // Its delivery is running already (a replay or reset overlapping it): it is not started twice.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    progress.alreadyRunning++;
  } finally {
    progress.startingNow--;
  }
}

/**
 * The event workflow before `event-fanout-2`: one match, every child awaited, the outcome
 * recorded at the end. Kept so histories recorded before it replay (and their open runs finish).
 */
async function legacyEventWorkflow(ref: EventRef): Promise<FanoutResult> {
  const fanout: FanoutResult = { matched: 0, delivered: 0, failed: 0, endpoints: {} };
  setHandler(fanoutQuery, () => fanout);
  // Short database work: local activities, recorded as one marker each (see the patch's note).
  const { matchEndpoints, recordEventOutcome, claimReplayRuns } = applied(
    ref.patchLevel,
    LOCAL_ACTIVITIES_PATCH,
  )
    ? local
    : remote;

  const endpointIds = await matchEndpoints(ref);
  // Only a replay has runs to claim, so the history of a first delivery is unchanged.
  const runs = ref.replay && endpointIds.length ? await claimReplayRuns(ref, endpointIds) : {};
  fanout.matched = endpointIds.length;
  for (const id of endpointIds) fanout.endpoints[id] = 'pending';

  const inherited = workflowInfo().typedSearchAttributes;
  await Promise.all(
    endpointIds.map(async (endpointId) => {
      try {
        const result = await executeChild(deliveryWorkflow, {
          workflowId: deliveryWorkflowId(ref.eventId, endpointId),
          args: [
            {
              eventId: ref.eventId,
              applicationId: ref.applicationId,
              endpointId,
              ...(runs[endpointId] ? { run: runs[endpointId] } : {}),
            },
          ],
          ...(isIndexed()
            ? {
                typedSearchAttributes: inherited.updateCopy([
                  { key: searchAttributes.endpointId, value: endpointId },
                  { key: searchAttributes.deliveryStatus, value: 'pending' },
                ]),
              }
            : {}),
          memo: { eventId: ref.eventId, endpointId, eventType: ref.eventType },
        });
        fanout.endpoints[endpointId] = result.status;
        if (result.status === 'delivered') fanout.delivered++;
        else fanout.failed++;
      } catch {
        fanout.endpoints[endpointId] = 'failed';
        fanout.failed++;
      }
    }),
  );

  const status = fanout.matched === 0 ? 'no_match' : fanout.failed === 0 ? 'delivered' : 'partially_failed';
  await recordEventOutcome(ref.eventId, fanout.delivered === 0 && fanout.matched > 0 ? 'failed' : status);
  return fanout;
}
