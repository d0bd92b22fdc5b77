import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { StoredEvent } from '../db/events.js';
import { deliveryWorkflowId, eventWorkflowId } from '../domain/ids.js';
import {
  PATCH_LEVEL,
  deliveryProgressQuery,
  searchAttributes,
  type EventRef,
} from '../../workflows/contract.js';
// Started by reference (only the function's name goes to Temporal; its type checks the args).
import { deliveryWorkflow } from '../../workflows/delivery.js';
import { eventWorkflow } from '../../workflows/event.js';

const eager = new WeakSet<Client>();

/**
 * Marks a client built on the same NativeConnection as this process's worker: its event
 * workflows start eagerly (the server hands the first workflow task back with the start).
 */
export function eagerCapable(client: Client): Client {
  eager.add(client);
  return client;
}

/** Temporal task queue priority keys: 1 is served first, 5 last (3 is the default). */
export const PRIORITY_KEYS = { high: 1, normal: 3, low: 5 } as const;

const indexOf = (event: StoredEvent) => [
  { key: searchAttributes.applicationId, value: event.applicationId },
  { key: searchAttributes.eventType, value: event.type },
  { key: searchAttributes.eventId, value: event.id },
];

/**
 * Starts the event's workflow again (`replay` re-delivers it). Idempotent: a workflow already
 * running under the id counts as started.
 */
export async function startEventWorkflow(
  temporal: Client,
  taskQueue: string,
  event: StoredEvent,
  opts: { replay?: boolean } = {},
): Promise<string> {
  try {
    await temporal.workflow.start(
      'eventWorkflow',
      eventStartOptions(temporal, taskQueue, event, 0, opts.replay),
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return eventWorkflowId(event.id);
}

function eventStartOptions(
  temporal: Client,
  taskQueue: string,
  event: StoredEvent,
  delayMs: number,
  replay = false,
) {
  return {
    workflowId: eventWorkflowId(event.id),
    taskQueue,
    args: [
      {
        eventId: event.id,
        applicationId: event.applicationId,
        eventType: event.type,
        ...(replay ? { replay: true } : {}),
        patchLevel: PATCH_LEVEL,
      },
    ] as [EventRef],
    typedSearchAttributes: indexOf(event),
    memo: { eventId: event.id, eventType: event.type, source: event.source },
    priority: { priorityKey: PRIORITY_KEYS[event.priority] },
    // A delayed start waits on Temporal's side (durable); an immediate one is eager where the
    // worker shares the client's connection (the first workflow task comes back with the start).
    ...(delayMs > 0 ? { startDelay: delayMs } : eager.has(temporal) ? { requestEagerStart: true } : {}),
  };
}

/**
 * Starts the workflow of a committed event for the first time (the dispatcher). Any earlier run
 * under the id, running or closed, means it was started already (`REJECT_DUPLICATE`), so a start
 * repeated after a crash can never deliver an event twice. `options.delay` counts from acceptance.
 */
export async function dispatchEventWorkflow(
  temporal: Client,
  taskQueue: string,
  event: StoredEvent,
): Promise<'started' | 'already_started'> {
  const delay = typeof event.options.delay === 'number' ? event.options.delay : 0;
  const delayMs = Math.max(0, event.createdAt.getTime() + delay - Date.now());
  try {
    await temporal.workflow.start(eventWorkflow, {
      ...eventStartOptions(temporal, taskQueue, event, delay > 0 ? Math.max(1, delayMs) : 0),
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    return 'started';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already_started';
    throw err;
  }
}

/** Starts run `run` of one delivery (a replay of its dead letter), outside any event workflow. */
export async function startDeliveryWorkflow(
  temporal: Client,
  taskQueue: string,
  event: StoredEvent,
  endpointId: string,
  run: number,
  memo: Record<string, unknown> = {},
): Promise<string> {
  const workflowId = deliveryWorkflowId(event.id, endpointId);
  await temporal.workflow.start(deliveryWorkflow, {
    workflowId,
    taskQueue,
    args: [
      { eventId: event.id, applicationId: event.applicationId, endpointId, run, patchLevel: PATCH_LEVEL },
    ],
    typedSearchAttributes: [
      ...indexOf(event),
      { key: searchAttributes.endpointId, value: endpointId },
      { key: searchAttributes.deliveryStatus, value: 'pending' },
    ],
    memo: { eventId: event.id, endpointId, eventType: event.type, run, ...memo },
    priority: { priorityKey: PRIORITY_KEYS[event.priority] },
  });
  return workflowId;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the workflow id's latest execution is running (a missing one is not). */
export async function isRunning(temporal: Client, workflowId: string): Promise<boolean> {
  return temporal.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      (d) => d.status.name === 'RUNNING',
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      },
    );
}

/**
 * True when the workflow is not running, now or within `ms`. A workflow records its outcome in
 * its last step, so a caller that saw the outcome may find it open for a moment more.
 */
export async function closesWithin(temporal: Client, workflowId: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (await isRunning(temporal, workflowId)) {
    if (Date.now() >= deadline) return false;
    await pause(25);
  }
  return true;
}

/**
 * Which run of a delivery still runs under its workflow id, or null when none does. A dead letter
 * is written in its run's last step, so that run can still be open for a moment: it is waited for
 * (up to `finishMs`). Another run (an event replay started it) is answered at once.
 */
export async function runningDeliveryRun(
  temporal: Client,
  workflowId: string,
  finishingRun: number,
  finishMs = 10_000,
): Promise<number | null> {
  if (!(await isRunning(temporal, workflowId))) return null;
  const run = await temporal.workflow
    .getHandle(workflowId)
    .query(deliveryProgressQuery)
    .then(
      (p) => p.run,
      () => finishingRun, // no answer yet (no worker, or closing): treat it as the finishing run
    );
  if (run !== finishingRun) return run;
  return (await closesWithin(temporal, workflowId, finishMs)) ? null : run;
}
