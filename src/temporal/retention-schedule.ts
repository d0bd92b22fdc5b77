import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import {
  RETENTION_SCHEDULE_ID,
  RETENTION_WORKFLOW_TYPE,
  type RetentionInput,
  type RetentionWorkflow,
} from '../../workflows/contract.js';

export interface RetentionScheduleOptions {
  taskQueue: string;
  /** HOOKLINE_RETENTION_DAYS of the process that starts. */
  defaultDays: number;
}

/** Daily at 03:17 UTC: off the hour, when most other cron jobs run. */
const spec = { calendars: [{ hour: 3, minute: 17, comment: 'daily retention' }] };
const policies = {
  // One run at a time; a day missed while Temporal was down is run once when it is back.
  overlap: ScheduleOverlapPolicy.SKIP,
  catchupWindow: '1 day',
};

/**
 * Makes sure the Temporal Schedule `hookline-retention` exists and starts retentionWorkflow daily
 * with this process's settings. Idempotent and safe from several processes at once: an existing
 * schedule is updated (the last worker to start sets the default retention), its paused state and
 * note left as an operator set them.
 */
export async function ensureRetentionSchedule(
  temporal: Client,
  opts: RetentionScheduleOptions,
): Promise<'created' | 'updated'> {
  const action = {
    type: 'startWorkflow' as const,
    workflowType: RETENTION_WORKFLOW_TYPE,
    // Temporal appends the scheduled time: hookline-retention-2026-11-30T03:17:00Z.
    workflowId: RETENTION_SCHEDULE_ID,
    taskQueue: opts.taskQueue,
    args: [{ defaultDays: opts.defaultDays }] as [RetentionInput],
  };
  try {
    await temporal.schedule.create<RetentionWorkflow>({
      scheduleId: RETENTION_SCHEDULE_ID,
      spec,
      action,
      policies,
      state: { note: 'Deletes expired events daily (HOOKLINE_RETENTION_DAYS); created by a Hookline worker' },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await temporal.schedule.getHandle(RETENTION_SCHEDULE_ID).update<RetentionWorkflow>((previous) => ({
    spec,
    action,
    policies,
    state: {
      paused: previous.state.paused,
      ...(previous.state.note !== undefined ? { note: previous.state.note } : {}),
      ...(previous.state.remainingActions !== undefined
        ? { remainingActions: previous.state.remainingActions }
        : {}),
    },
  }));
  return 'updated';
}
