// The reconciler of closed delivery runs (docs/design/event-shape.md §5.4). A terminate runs no
// workflow code, so nothing in the workflow can record it: this reads the runs Temporal closed as
// Terminated (and Canceled, Failed or TimedOut runs whose own cleanup did not run) from
// visibility, and ends each one's delivery the way the run ended, with a replayable dead letter.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type pg from 'pg';
import type { Logger } from 'pino';
import { endAsDeadLetter, stopEventRun, type DeadLetterDeps } from '../../activities/dead-letter.js';
import { getEvent } from '../db/events.js';
import type { DeadLetterKind } from '../db/dead-letters.js';
import { getDeliveryOwner } from '../db/deliveries.js';
import {
  checkLockConnection,
  getCursor,
  releaseReconcilerLock,
  setCursor,
  tryReconcilerLock,
} from '../db/reconciler.js';
import { readRunStop, stopReason } from '../temporal/stops.js';
import { workflowTypes } from '../../workflows/contract.js';

const CURSOR = 'closed-runs';
/** Re-read this much before the cursor: visibility on a real cluster is written after the close. */
const OVERLAP_MS = 2 * 60_000;
/** The server's identity on the run a reset terminates (temporal `consts.IdentityResetter`). */
const RESETTER_IDENTITY = 'history-resetter';
const FIRST_PASS_FALLBACK_MS = 7 * 86_400_000;
const FINAL = new Set(['delivered', 'dead_lettered', 'failed', 'terminated', 'cancelled']);

export interface ReconcilerDeps extends DeadLetterDeps {
  taskQueue: string;
  log?: Logger | undefined;
}

export type RunVerdict = 'recorded' | 'skipped';

/** Whether `run` is still the workflow id's latest run (not replaced by a reset, replay or replay of its dead letter). */
async function isLatestRun(temporal: Client, run: { workflowId: string; runId: string }): Promise<boolean> {
  const current = await temporal.workflow
    .getHandle(run.workflowId)
    .describe()
    .catch((err: unknown) => (err instanceof WorkflowNotFoundError ? null : Promise.reject(err)));
  return current?.runId === run.runId;
}

/**
 * Ends the delivery of one closed run as that run ended, once: a second look at the same run
 * finds its row final under its own run id and skips it without a call to Temporal.
 */
export async function reconcileDeliveryRun(
  deps: ReconcilerDeps,
  run: { workflowId: string; runId: string; status: string },
): Promise<RunVerdict> {
  const row = await getDeliveryOwner(deps.db, run.workflowId);
  if (!row) return 'skipped'; // gone with its application, or never recorded
  if (row.workflowRunId !== null && row.workflowRunId !== run.runId) return 'skipped'; // another run owns it
  if (row.workflowRunId === run.runId && FINAL.has(row.status)) return 'skipped'; // already ended
  // A newer run of the workflow id (a reset, or a dead letter's replay) owns the delivery now.
  if (!(await isLatestRun(deps.temporal, run))) return 'skipped';
  const stop = await readRunStop(deps.temporal, run.workflowId, run.runId);
  if (stop?.identity === RESETTER_IDENTITY) return 'skipped';
  const kind: DeadLetterKind =
    run.status === 'TERMINATED' ? 'terminated' : run.status === 'CANCELLED' ? 'cancelled' : 'failed';
  const reason =
    kind === 'failed'
      ? `failed: the delivery's workflow ended ${run.status.toLowerCase()} in Temporal`
      : stopReason(stop ?? { kind, reason: null, identity: null });
  const written = await endAsDeadLetter(
    deps,
    { eventId: row.eventId, applicationId: row.applicationId, endpointId: row.endpointId, run: row.run },
    run.runId,
    {
      kind,
      attempts: row.attempts,
      reason,
      statusCode: row.lastStatusCode,
      error: row.lastError,
      stoppedBy: stop?.identity ?? null,
    },
  );
  if (written) deps.log?.info({ ...run, kind, reason }, 'delivery run closed outside its workflow: recorded');
  return written ? 'recorded' : 'skipped';
}

/**
 * An event workflow run that was terminated (or cancelled without its cleanup): the deliveries it
 * had not started become dead letters of that kind (stopEventRun, idempotent by run id). Only the
 * latest run of the event counts: one replaced by a reset or a replay is skipped.
 */
export async function reconcileEventRun(
  deps: ReconcilerDeps,
  run: { workflowId: string; runId: string; status: string },
): Promise<RunVerdict> {
  const event = await getEvent(deps.db, run.workflowId.replace(/^event:/, ''));
  if (!event) return 'skipped';
  if (!(await isLatestRun(deps.temporal, run))) return 'skipped';
  const stop = await readRunStop(deps.temporal, run.workflowId, run.runId);
  if (!stop || stop.identity === RESETTER_IDENTITY) return 'skipped';
  const ref = { eventId: event.id, applicationId: event.applicationId, eventType: event.type };
  const ended = await stopEventRun(deps, ref, run.runId, stop);
  if (ended)
    deps.log?.info(
      { ...run, ended },
      'event run stopped outside its workflow: its unstarted deliveries recorded',
    );
  return ended ? 'recorded' : 'skipped';
}

/** One pass: every delivery run closed abnormally since the cursor (less the overlap). */
export async function reconcileOnce(deps: ReconcilerDeps): Promise<{ seen: number; recorded: number }> {
  const cursor =
    (await getCursor(deps.db, CURSOR)) ?? new Date(Date.now() - (await retentionMs(deps.temporal)));
  const since = new Date(cursor.getTime() - OVERLAP_MS);
  const query =
    `WorkflowType = "${workflowTypes.delivery}" AND TaskQueue = "${deps.taskQueue}"` +
    ` AND ExecutionStatus IN ("Terminated", "Canceled", "Failed", "TimedOut")` +
    ` AND CloseTime >= "${since.toISOString()}"`;
  let latest = cursor;
  let seen = 0;
  let recorded = 0;
  for await (const w of deps.temporal.workflow.list({
    query,
    pageSize: 100,
  }) as AsyncIterable<WorkflowExecutionInfo>) {
    seen++;
    if (
      (await reconcileDeliveryRun(deps, {
        workflowId: w.workflowId,
        runId: w.runId,
        status: w.status.name,
      })) === 'recorded'
    )
      recorded++;
    if (w.closeTime && w.closeTime > latest) latest = w.closeTime;
  }
  for await (const w of deps.temporal.workflow.list({
    query:
      `WorkflowType = "${workflowTypes.event}" AND TaskQueue = "${deps.taskQueue}"` +
      ` AND ExecutionStatus IN ("Terminated", "Canceled") AND CloseTime >= "${since.toISOString()}"`,
    pageSize: 100,
  }) as AsyncIterable<WorkflowExecutionInfo>) {
    seen++;
    const verdict = await reconcileEventRun(deps, {
      workflowId: w.workflowId,
      runId: w.runId,
      status: w.status.name,
    });
    if (verdict === 'recorded') recorded++;
    if (w.closeTime && w.closeTime > latest) latest = w.closeTime;
  }
  await setCursor(deps.db, CURSOR, latest);
  return { seen, recorded };
}

async function retentionMs(temporal: Client): Promise<number> {
  try {
    const ns = await temporal.workflowService.describeNamespace({ namespace: temporal.options.namespace });
    const ttl = ns.config?.workflowExecutionRetentionTtl?.seconds;
    return ttl ? Number(ttl) * 1000 : FIRST_PASS_FALLBACK_MS;
  } catch {
    return FIRST_PASS_FALLBACK_MS;
  }
}

/**
 * Runs `reconcileOnce` every `intervalMs` in whichever worker process holds the advisory lock
 * (on a connection of its own: the lock falls with a dead holder's connection, and another
 * process takes over within one interval).
 */
export function startReconciler(deps: ReconcilerDeps & { intervalMs: number }): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let holder: pg.PoolClient | undefined;
  let pass: Promise<void> = Promise.resolve();

  const drop = (err?: unknown) => {
    holder?.release(err instanceof Error ? err : true);
    holder = undefined;
  };

  const tick = async () => {
    try {
      // A lock whose connection died (PostgreSQL restarted) is no longer held: take it again.
      if (holder) await checkLockConnection(holder).catch((e: unknown) => drop(e));
      if (!holder) {
        const client = await deps.db.connect();
        if (
          await tryReconcilerLock(client).catch((err: unknown) => (client.release(true), Promise.reject(err)))
        ) {
          holder = client;
          deps.log?.debug('reconciler lock taken');
        } else client.release();
      }
      if (holder) await reconcileOnce(deps);
    } catch (err) {
      deps.log?.warn({ err }, 'reconciler pass failed; it runs again next interval');
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      pass = tick().finally(schedule);
    }, deps.intervalMs);
  };
  schedule();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await pass;
      if (holder) {
        await releaseReconcilerLock(holder).catch(() => undefined);
        drop();
      }
    },
  };
}
