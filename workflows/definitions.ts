import {
  defineSearchAttributeKey,
  SearchAttributeType,
  type SearchAttributeUpdatePair,
} from '@temporalio/common';
import { defineQuery, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

/** Search attributes (DESIGN.md): registered by the embedded dev server and the compose setup. */
export const searchAttributes = {
  applicationId: defineSearchAttributeKey('HooklineApplicationId', SearchAttributeType.KEYWORD),
  eventType: defineSearchAttributeKey('HooklineEventType', SearchAttributeType.KEYWORD),
  eventId: defineSearchAttributeKey('HooklineEventId', SearchAttributeType.KEYWORD),
  endpointId: defineSearchAttributeKey('HooklineEndpointId', SearchAttributeType.KEYWORD),
  deliveryStatus: defineSearchAttributeKey('HooklineDeliveryStatus', SearchAttributeType.KEYWORD),
  circuitState: defineSearchAttributeKey('HooklineCircuitState', SearchAttributeType.KEYWORD),
  attempts: defineSearchAttributeKey('HooklineAttempts', SearchAttributeType.INT),
} as const;

/**
 * Search attributes flow from the start of the event workflow (the API sets them). A workflow
 * started without them — on a server where they are not registered, such as the time-skipping
 * test server — keeps running without any, instead of failing its workflow tasks.
 */
export function isIndexed(): boolean {
  return workflowInfo().typedSearchAttributes.get(searchAttributes.eventId) !== undefined;
}

export function upsertIfIndexed(pairs: SearchAttributeUpdatePair[]): void {
  if (isIndexed()) upsertSearchAttributes(pairs);
}

export type DeliveryStatus = 'pending' | 'delivering' | 'retrying' | 'delivered' | 'failed' | 'gone';

export interface DeliveryProgress {
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
}

export interface FanoutResult {
  matched: number;
  delivered: number;
  failed: number;
  endpoints: Record<string, DeliveryStatus>;
}

export const deliveryProgressQuery = defineQuery<DeliveryProgress>('deliveryWorkflow.progress');
export const fanoutQuery = defineQuery<FanoutResult>('eventWorkflow.fanout');
