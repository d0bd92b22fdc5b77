// Patch checks that honour the execution's patch level (contract.ts, PATCH_LEVEL). Workflow-only.
import { patched, workflowInfo } from '@temporalio/workflow';
import { PATCH_LEVEL } from './contract.js';

/**
 * Whether the patch applies to this execution. Without the level, as `patched()` says (it records
 * the marker on a new execution). At the level, always, and no marker is recorded; but while
 * replaying, `patched()` is still called, with its answer ignored: a worker without the level
 * (during a rolling upgrade) may have run this part of the execution and recorded the marker,
 * which a replay must meet. Replaying, `patched()` records nothing: it matches a marker that is
 * there and answers false when none is, so what the workflow does never depends on it.
 */
export function applied(patchLevel: number | undefined, patchId: string): boolean {
  if ((patchLevel ?? 0) < PATCH_LEVEL) return patched(patchId);
  if (workflowInfo().unsafe.isReplaying) patched(patchId);
  return true;
}
