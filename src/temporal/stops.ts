import type { Client } from '@temporalio/client';

/** Who stopped a workflow run and why, as its history records it. */
export interface RunStop {
  kind: 'terminated' | 'cancelled';
  /** The reason given (terminate's `--reason`, a cancel's cause), or null when none was. */
  reason: string | null;
  /** The Temporal identity of the caller (for example `temporal-cli:root@host`). */
  identity: string | null;
}

/**
 * Reads the end of a run's history, newest first, for its terminate or cancel request. The SDK
 * gives workflow code no cancel reason (docs/design/event-shape.md F8) and a terminate runs no
 * code at all (F9), so history is where both are.
 */
export async function readRunStop(
  temporal: Client,
  workflowId: string,
  runId: string,
  pageSize = 20,
): Promise<RunStop | null> {
  const { history } = await temporal.workflowService.getWorkflowExecutionHistoryReverse({
    namespace: temporal.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: pageSize,
  });
  for (const e of history?.events ?? []) {
    const t = e.workflowExecutionTerminatedEventAttributes;
    if (t) return { kind: 'terminated', reason: t.reason || null, identity: t.identity || null };
    const c = e.workflowExecutionCancelRequestedEventAttributes;
    if (c) return { kind: 'cancelled', reason: c.cause || null, identity: c.identity || null };
  }
  return null;
}

/** The dead letter's reason for a stopped run: `terminated: operator gave up (by temporal-cli:…)`. */
export function stopReason(stop: RunStop): string {
  return `${stop.kind}: ${stop.reason ?? 'no reason given'}${stop.identity ? ` (by ${stop.identity})` : ''}`;
}
