import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { OwnedWrite } from '../src/db/deliveries.js';

/** The Temporal run the running activity belongs to (local activities too). */
export function currentRunId(): string {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('an activity of a delivery runs inside a workflow');
  return execution.runId;
}

/**
 * A status write under the ownership guard (docs/design/event-shape.md §4.4). The hot path is
 * one statement. Only when the guard refuses does it ask Temporal who the workflow's current run
 * is: a reset run (the current, running one) claims the row and writes again; a stale run (its
 * workflow was reset or stopped meanwhile) leaves the status alone, its attempt stays recorded.
 */
export async function writeAsOwner(
  temporal: Client,
  workflowId: string,
  runId: string,
  write: (force: boolean) => Promise<OwnedWrite>,
): Promise<OwnedWrite & { claimed: boolean }> {
  const first = await write(false);
  if (first.applied) return { ...first, claimed: false };
  if (!(await isCurrentRun(temporal, workflowId, runId))) return { ...first, claimed: false };
  const again = await write(true);
  return { inserted: first.inserted || again.inserted, applied: again.applied, claimed: again.applied };
}

async function isCurrentRun(temporal: Client, workflowId: string, runId: string): Promise<boolean> {
  try {
    const d = await temporal.workflow.getHandle(workflowId).describe();
    return d.runId === runId && d.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
