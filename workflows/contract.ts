// The Temporal contract: workflow types, inputs and results, statuses, search attributes,
// signals, queries and patch ids, shared by workflows, activities, the client, the db layer and
// the API. Pure: it runs in the workflow sandbox and in Node alike (nothing in it may only run
// inside a workflow; those helpers are in ./indexing.ts).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CircuitConfig, CircuitState } from '../src/domain/circuit.js';
import type { AttemptOutcome, ErrorClass } from '../src/domain/outcome.js';
import type { RetryConfig } from '../src/domain/retry.js';
import type { DeliveryStatus } from '../src/domain/vocabulary.js';

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

export {
  DELIVERY_STATUSES,
  EVENT_STATUSES,
  FINAL_EVENT_STATUSES,
  type DeliveryStatus,
  type EventStatus,
} from '../src/domain/vocabulary.js';
/** eventWorkflow's input: ids only (payloads and secrets never enter history). */
export interface EventRef {
  eventId: string;
  applicationId: string;
  eventType: string;
  /** A replay of the event: every matched delivery starts a new run with fresh attempts. */
  replay?: boolean;
  /** PATCH_LEVEL when started by code that has it (carried to its children and continued runs). */
  patchLevel?: number;
}

/** deliveryWorkflow's input. */
export interface DeliveryRef {
  eventId: string;
  applicationId: string;
  endpointId: string;
  /** 0 for the original delivery, 1.. for replays of its dead letter. */
  run?: number;
  /**
   * Its `deliveries` row was claimed by the event's routing (`event-fanout-2`), run included, so
   * the attempt does not write it first. Absent: started by an older event workflow or by a
   * dead letter's replay, whose attempt creates or renews the row.
   */
  routed?: true;
  /** PATCH_LEVEL when started by code that has it. */
  patchLevel?: number;
}

/** What the deliverAttempt activity tells the delivery workflow (the response itself stays in PostgreSQL). */
export interface AttemptResult {
  /**
   * `circuit_open`: not sent, no attempt spent; the endpoint's breaker is open. `throttled`: not
   * sent, no attempt spent; a slot under the endpoint's rateLimit is reserved `waitMs` from now.
   */
  outcome: AttemptOutcome | 'circuit_open' | 'throttled';
  statusCode: number | null;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  durationMs: number;
  /** The response's Retry-After in ms from now, when it had a valid one. */
  retryAfterMs: number | null;
  attempt: number;
  /** The endpoint's retry policy as it is now (the workflow applies it). */
  retry: RetryConfig;
  /** `throttled` only: ms until the reserved slot (the workflow sleeps, then sends `reserved`). */
  waitMs?: number;
}

/** How the delivery workflow asks for an attempt (`deliverAttempt`'s third argument). */
export interface AttemptOptions {
  /** This delivery holds the half-open circuit's probe: send whatever the mirror says. */
  probe?: boolean;
  /** The workflow handles `throttled` (ENDPOINT_THROTTLE_PATCH): a throttled endpoint may answer it. */
  throttle?: boolean;
  /** A slot was reserved by the previous call (`throttled`) and waited for: send without another. */
  reserved?: boolean;
}

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

/** What an event workflow recorded before `event-fanout-2` (and its query answer on those runs). */
export interface FanoutResult {
  matched: number;
  delivered: number;
  failed: number;
  endpoints: Record<string, DeliveryStatus>;
}

/** eventWorkflow's input from `event-fanout-2` on: the event, and on a continued run the carry. */
export interface EventWorkflowInput extends EventRef {
  /** Present only on a continue-as-new run. */
  fanout?: FanoutCarry;
  /** Tests and golden recordings only: children started per run (default 500). Carried. */
  window?: number;
  /** Tests and golden recordings only: the pacing threshold (default 1,000). Carried. */
  pace?: number;
}

/** What one run of a wide event hands the next (continue-as-new): O(1) whatever the width. */
export interface FanoutCarry {
  /** Last endpoint id scanned (keyset): matching resumes after it. */
  cursor: string;
  /** The run that produced this carry (1-based). */
  run: number;
  matched: number;
  started: number;
  /** Matched, but their delivery still runs (a reset or replay overlap): not started again. */
  alreadyRunning: number;
}

/** The event's deliveries by state, as PostgreSQL counts them (migration 007), read at `asOf`. */
export interface DeliveryCounts {
  asOf: number;
  matched: number;
  pending: number;
  active: number;
  delivered: number;
  failed: number;
  terminated: number;
  cancelled: number;
}

/** `eventWorkflow.fanout` on `event-fanout-2` runs: progress, O(1) in size at any width. */
export interface FanoutProgress {
  shape: 2;
  phase: 'pacing' | 'routing' | 'starting' | 'handed_off';
  run: number;
  matched: number;
  started: number;
  alreadyRunning: number;
  /** Children of this window not yet confirmed started. */
  startingNow: number;
  /** Where matching resumes; null once every endpoint has been matched. */
  cursor: string | null;
  /** The deliveries' counters as of the last activity (live ones: GET /api/events/:id). */
  deliveries: DeliveryCounts | null;
}

/** One page of the event's match, claimed in PostgreSQL (activity `routePage`). */
export interface RoutePage {
  /** The deliveries this run starts: new ones (run 0) and new runs of finished ones. */
  start: Array<{ endpointId: string; run: number }>;
  /** Matched, but their delivery is still running under another event run. */
  skipped: number;
  /** The last endpoint scanned, or null at the end of the match. */
  cursor: string | null;
  counts: DeliveryCounts;
}

/** The breaker's answer to a waiting delivery: `probe` (you are the one trial) or `go` (closed). */
export type CircuitPermit = 'probe' | 'go';

/** An attempt's outcome as the breaker counts it: `ok` means the endpoint answered sanely. */
export interface BreakerOutcome {
  /** `<deliveryId>:<workflowRunId>:<attempt>`: a re-run activity is counted once, a reset run's anew. */
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
  /**
   * Delivery workflows waiting for the circuit, oldest first: only in a breaker from before the
   * waiter table (`BREAKER_WAITER_TABLE_PATCH`); one on the table keeps them in PostgreSQL.
   */
  waiters?: string[];
  /** Set by a breaker on the waiter table (it carries no waiters). */
  waiterTable?: true;
  /** Recent outcome keys (bounded), to count each attempt once. */
  recentKeys: string[];
  /** Bumped on every change; orders the PostgreSQL mirror's writes. */
  seq: number;
  outcomes: number;
  opened: number;
}

/** The workflow types, by name and signature, for code that may not import workflow modules. */
export const workflowTypes = {
  event: 'eventWorkflow',
  delivery: 'deliveryWorkflow',
  endpoint: 'endpointWorkflow',
} as const;
export type EventWorkflow = (input: EventWorkflowInput) => Promise<FanoutResult | FanoutProgress>;
export type DeliveryWorkflow = (ref: DeliveryRef) => Promise<DeliveryProgress>;
export type EndpointWorkflow = (input: EndpointWorkflowInput) => Promise<void>;

export const deliveryProgressQuery = defineQuery<DeliveryProgress>('deliveryWorkflow.progress');
/** Runs from before `event-fanout-2` answer a FanoutResult, later ones a FanoutProgress. */
export const fanoutQuery = defineQuery<FanoutResult | FanoutProgress>('eventWorkflow.fanout');
export const circuitPermitSignal = defineSignal<[CircuitPermit]>('deliveryWorkflow.circuitPermit');
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

/**
 * Patch id: the event workflow matches a page at a time, starts each window of children
 * (ParentClosePolicy.ABANDON), continues as new with a cursor, and closes without waiting for
 * them; the event's outcome is derived in PostgreSQL (docs/design/event-shape.md §3).
 */
export const EVENT_FANOUT_PATCH = 'event-fanout-2';

/**
 * Patch id: a cancelled delivery runs its cleanup (the `deliveryStopped` local activity: status
 * `cancelled`, a replayable dead letter). Checked only on the cancellation path, so a delivery that
 * is not cancelled records no marker for it.
 */
export const DELIVERY_CANCEL_PATCH = 'delivery-cancel-cleanup-1';

/** What a cancelled delivery had done when it stopped (`deliveryStopped`'s input). */
export interface DeliveryStop {
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
}

/**
 * Patch id: the breaker keeps its waiting deliveries in PostgreSQL (`circuit_waiters`), not in its
 * state, and releases them from an activity, so its state and continue-as-new input stay O(1)
 * however many deliveries wait. Called at the top of each run: a running old breaker switches at
 * its next run and adopts the waiters it carries.
 */
export const BREAKER_WAITER_TABLE_PATCH = 'breaker-waiter-table-1';
/**
 * Patch id, called only inside the delivery's `circuit_open` branch: the attempt activity wrote
 * the waiter row, so the delivery does not signal its breaker. Older histories signal.
 */
export const DELIVERY_WAITER_ROW_PATCH = 'delivery-waiter-row-1';

/**
 * Patch id: the delivery asks its attempts to honour the endpoint's rateLimit (`throttle: true`)
 * and sleeps on a `throttled` answer. Checked once at the top of a delivery: a delivery begun
 * before it (replaying without the marker) runs unthrottled to its end, and no activity answers
 * `throttled` to workflow code that does not know it.
 */
export const ENDPOINT_THROTTLE_PATCH = 'endpoint-throttle-1';

/**
 * Input versioning. An event or delivery workflow started with `patchLevel: 1` takes every patch
 * of its type above (LOCAL_ACTIVITIES_PATCH, EVENT_FANOUT_PATCH, DELIVERY_CANCEL_PATCH,
 * DELIVERY_WAITER_ROW_PATCH, ENDPOINT_THROTTLE_PATCH) as applied, so a new execution records no
 * patch marker and no `TemporalChangeVersion` upsert: two history events per patch met (issue
 * #16; they cost history, not CPU: docs/architecture.md, "Patch level"). The level is in the
 * execution's input, the first event of its history, so a replay takes the same path; while
 * replaying, `patched()` is still called, to meet the markers a worker without the level may have
 * recorded (workflows/patches.ts). An execution started without it (before this level existed, or
 * a child of an event run that was) calls `patched()` as before. A patch added later uses
 * `patched()` until a new level folds it in.
 */
export const PATCH_LEVEL = 1;

/**
 * Sent by an attempt that finds a breaker still keeping its waiters in its state: it continues as
 * new at once, so its next run moves them to the waiter table.
 */
export const breakerUpgradeSignal = defineSignal('endpointWorkflow.upgrade');

/** What `releaseWaiters` does: signal every waiting delivery of the endpoint `permit`. */
export interface ReleaseWaitersInput {
  endpointId: string;
  permit: CircuitPermit;
}

export interface ReleaseWaitersResult {
  /** Waiters signalled (a delivery that has ended counts as released). */
  released: number;
  /** Stopped early: a `go` release found the circuit no longer closed. */
  stopped: boolean;
}

/** Retention (issue #15): the schedule that starts retentionWorkflow daily, and its types. */
export const RETENTION_SCHEDULE_ID = 'hookline-retention';
export const RETENTION_WORKFLOW_TYPE = 'retentionWorkflow';

/** Rows retention removed, by table. */
export interface RetentionCounts {
  events: number;
  deliveries: number;
  attempts: number;
  deadLetters: number;
}

/** retentionWorkflow's input: the schedule's arguments (set by the last worker to start). */
export interface RetentionInput {
  /** HOOKLINE_RETENTION_DAYS: for applications without their own retention. */
  defaultDays: number;
  /** Events per delete statement (default 500). */
  maxEvents?: number;
  /** Deliveries per delete statement, roughly (default 5,000; a wider event goes alone). */
  maxDeliveries?: number;
  /** Present only on a continue-as-new run: the totals so far and where to resume. */
  carried?: RetentionResult & { resumeAt: string };
}

/** One call of the `purgeExpiredEvents` activity: at most `maxBatches` short delete statements. */
export interface RetentionPass {
  defaultDays: number;
  maxEvents: number;
  maxDeliveries: number;
  maxBatches: number;
  /** Start at this application (ids in order); the previous pass stopped there. */
  resumeAt?: string;
}

export interface RetentionPassResult {
  deleted: RetentionCounts;
  /** The pass stopped at `maxBatches` in this application; null: every application is done. */
  resumeAt: string | null;
}

export interface RetentionResult {
  deleted: RetentionCounts;
  passes: number;
}

export type RetentionWorkflow = (input: RetentionInput) => Promise<RetentionResult>;
