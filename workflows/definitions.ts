import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';

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
