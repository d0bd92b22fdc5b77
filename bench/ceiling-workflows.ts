// Workflows of bench/ceiling.ts: Hookline's shape with activities that do nothing.
import {
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';

interface Noop {
  noop(): Promise<void>;
}
const { noop } = proxyActivities<Noop>({ startToCloseTimeout: '30 seconds' });
const local = proxyLocalActivities<Noop>({ startToCloseTimeout: '30 seconds' });

export async function one(): Promise<void> {
  await noop();
}

export async function oneLocal(): Promise<void> {
  await local.noop();
}

export async function parent(): Promise<void> {
  await noop();
  await executeChild(one, { workflowId: `${workflowInfo().workflowId}:child` });
  await noop();
}

export async function parentLocal(): Promise<void> {
  await local.noop();
  await executeChild(oneLocal, { workflowId: `${workflowInfo().workflowId}:child` });
  await local.noop();
}

/**
 * Hookline's shape since `event-fanout-2`: a local activity (the routing page), one child started
 * and abandoned (the parent closes once it has started), the child one local activity.
 */
export async function handoff(): Promise<void> {
  await local.noop();
  await startChild(oneLocal, {
    workflowId: `${workflowInfo().workflowId}:child`,
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
}
