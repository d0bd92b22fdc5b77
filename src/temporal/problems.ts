import type { Client } from '@temporalio/client';

/**
 * Workflows of the task queue whose workflow tasks keep failing or timing out: the server sets
 * `TemporalReportedProblems` after several consecutive task problems and clears it on the next
 * good task (the query is the one Temporal's own UI uses for its "task failures" view). A
 * workflow in this state makes no progress and retries its task for ever, so it is an alert.
 */
export const FAILING_TASKS_QUERY =
  'ExecutionStatus = "Running" AND TemporalReportedProblems IN ("category=WorkflowTaskFailed", "category=WorkflowTaskTimedOut")';

export async function countFailingWorkflows(temporal: Client, taskQueue: string): Promise<number> {
  const { count } = await temporal.workflow.count(`${FAILING_TASKS_QUERY} AND TaskQueue = "${taskQueue}"`);
  return count;
}
