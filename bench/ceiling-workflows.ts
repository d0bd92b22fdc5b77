// Workflows of bench/ceiling.ts: Hookline's shape with activities that do nothing.
import { executeChild, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';

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
