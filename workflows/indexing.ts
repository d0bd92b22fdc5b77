// Search-attribute helpers that only run inside a workflow.
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { searchAttributes } from './contract.js';

/**
 * Search attributes flow from the start of the event workflow (the dispatcher sets them). A
 * workflow started without them — on a server where they are not registered, such as the
 * time-skipping test server — keeps running without any, instead of failing its workflow tasks.
 */
export function isIndexed(): boolean {
  return workflowInfo().typedSearchAttributes.get(searchAttributes.eventId) !== undefined;
}

export function upsertIfIndexed(pairs: SearchAttributeUpdatePair[]): void {
  if (isIndexed()) upsertSearchAttributes(pairs);
}
