import {
  defineSearchAttributeKey,
  SearchAttributeType,
  type SearchAttributeUpdatePair,
} from '@temporalio/common';
import { defineQuery, defineSignal, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { CircuitConfig, CircuitState } from '../src/domain/circuit.js';

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

export type DeliveryStatus =
  'pending' | 'retrying' | 'waiting_circuit' | 'delivered' | 'failed' | 'dead_lettered';

export interface DeliveryProgress {
  status: DeliveryStatus;
  /** Attempts sent in this run (waiting for the circuit spends none). */
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** When the next attempt is due (epoch ms), while retrying. */
  nextAttemptAt: number | null;
  /** 0 for the original delivery, 1.. for replays. */
  run: number;
}

export interface FanoutResult {
  matched: number;
  delivered: number;
  failed: number;
  endpoints: Record<string, DeliveryStatus>;
}

export const deliveryProgressQuery = defineQuery<DeliveryProgress>('deliveryWorkflow.progress');
export const fanoutQuery = defineQuery<FanoutResult>('eventWorkflow.fanout');

/** The breaker's answer to a waiting delivery: `probe` (you are the one trial) or `go` (closed). */
export type CircuitPermit = 'probe' | 'go';
export const circuitPermitSignal = defineSignal<[CircuitPermit]>('deliveryWorkflow.circuitPermit');

/** An attempt's outcome as the breaker counts it: `ok` means the endpoint answered sanely. */
export interface BreakerOutcome {
  /** `<deliveryId>:<run>:<attempt>`, so a re-run activity is counted once. */
  key: string;
  ok: boolean;
  probe: boolean;
}

export interface EndpointWorkflowInput {
  endpointId: string;
  config: CircuitConfig;
  /** Carried over continue-as-new. */
  carried?: BreakerState;
}

export interface BreakerState {
  state: CircuitState;
  consecutiveFailures: number;
  openUntil: number | null;
  /** The delivery workflow holding the half-open probe, and until when. */
  probe: { workflowId: string; until: number } | null;
  /** Delivery workflows waiting for the circuit, oldest first. */
  waiters: string[];
  /** Recent outcome keys (bounded), to count each attempt once. */
  recentKeys: string[];
  /** Bumped on every change; orders the PostgreSQL mirror's writes. */
  seq: number;
  outcomes: number;
  opened: number;
}

export const breakerOutcomeSignal = defineSignal<[BreakerOutcome]>('endpointWorkflow.outcome');
/** The endpoint was deleted or disabled: release every waiter and end. */
export const breakerRetireSignal = defineSignal('endpointWorkflow.retire');
export const circuitWaitSignal = defineSignal<[{ workflowId: string }]>('endpointWorkflow.wait');
export const breakerStateQuery = defineQuery<BreakerState & { endpointId: string; config: CircuitConfig }>(
  'endpointWorkflow.state',
);

/**
 * Patch id: the event's and the delivery's activities run as local activities (one marker event
 * each, no activity task round trip through the server). Histories recorded before it replay on
 * the regular-activity path.
 */
export const LOCAL_ACTIVITIES_PATCH = 'local-activities-1';
