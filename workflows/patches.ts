// Patch checks that honour the execution's patch level (contract.ts, PATCH_LEVEL). Workflow-only.
import { patched } from '@temporalio/workflow';
import { PATCH_LEVEL } from './contract.js';

/**
 * Whether the patch applies to this execution: always at PATCH_LEVEL (no marker is recorded),
 * otherwise as `patched()` says (it records the marker on a new execution).
 */
export function applied(patchLevel: number | undefined, patchId: string): boolean {
  return (patchLevel ?? 0) >= PATCH_LEVEL || patched(patchId);
}
