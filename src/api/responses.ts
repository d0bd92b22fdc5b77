import { EVENT_STATUSES, RETRY_STRATEGIES } from '../domain/vocabulary.js';
import { z } from 'zod';

/**
 * The bodies of successful answers, as the OpenAPI document states them (and the API fuzz checks
 * every answer against them). Keyed by `METHOD path` as routes register, so the route modules stay
 * as they are; `ApiDocs.document()` refuses a key that matches no route.
 */

const int = z.number().int();
const date = z.string().describe('ISO 8601 date-time');
const uiLink = z
  .string()
  .nullable()
  .describe('Temporal Web UI link, when the UI is known and Temporal still keeps the workflow');

const fieldProblem = z.object({ field: z.string(), message: z.string() });

const eventAccepted = z.object({
  eventId: z.string(),
  status: z.enum(['accepted', 'duplicate']),
  workflowId: z.string(),
  temporalUiUrl: uiLink,
});

const batchResults = z.object({
  accepted: int,
  refused: int,
  results: z.array(
    z.union([
      z.object({
        index: int,
        status: z.literal([200, 202]),
        eventId: z.string(),
        workflowId: z.string(),
        duplicate: z.boolean(),
      }),
      z.object({
        index: int,
        status: int,
        title: z.string(),
        detail: z.string(),
        errors: z.array(fieldProblem).optional(),
      }),
    ]),
  ),
});

const eventSummary = z.object({
  id: z.string(),
  type: z.string(),
  source: z.string().nullable(),
  tags: z.array(z.string()),
  priority: z.enum(['high', 'normal', 'low']),
  status: z.enum(EVENT_STATUSES),
  matched: int.nullable(),
  replays: int,
  createdAt: date,
  dispatchedAt: date.nullable(),
  /** Its deliveries by state, live (kept in PostgreSQL as they change). */
  progress: z.object({
    pending: int,
    active: int,
    delivered: int,
    failed: int,
    terminated: int,
    cancelled: int,
  }),
  workflowId: z.string(),
  temporalUiUrl: uiLink,
});

const delivery = z.object({
  id: z.string(),
  endpointId: z.string(),
  status: z.string(),
  attempts: int,
  lastStatusCode: int.nullable(),
  lastError: z.string().nullable(),
  /** Why an operator terminated or cancelled it, and who (the Temporal identity). */
  stopReason: z.string().nullable(),
  stoppedBy: z.string().nullable(),
  updatedAt: date,
  workflowId: z.string(),
  temporalUiUrl: uiLink,
});

const eventDetail = eventSummary.extend({
  payload: z.unknown(),
  options: z.record(z.string(), z.unknown()),
  /** The first page of its deliveries; more at /api/events/:id/deliveries?cursor=… */
  deliveries: z.array(delivery),
  deliveriesNextCursor: z.string().nullable(),
});

const attempt = z.object({
  deliveryId: z.string(),
  run: int,
  workflowRunId: z.string().nullable(),
  attempt: int,
  startedAt: date,
  durationMs: int,
  outcome: z.string(),
  statusCode: int.nullable(),
  errorClass: z.string().nullable(),
  errorMessage: z.string().nullable(),
  responseBody: z.string().nullable(),
  responseHeaders: z.record(z.string(), z.string()).nullable(),
});

const circuitConfig = z.object({ threshold: int, cooldown: int });

const endpoint = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  headers: z.record(z.string(), z.string()),
  security: z.object({
    signatureHeader: z.string().nullable(),
    secret: z.string().optional().describe('only when created or rotated'),
    previousSecretsExpireAt: z.array(date),
  }),
  timeout: int,
  retryConfig: z.object({
    maxAttempts: int,
    strategy: z.enum(RETRY_STRATEGIES),
    baseDelay: int,
    maxDelay: int,
    jitter: z.boolean(),
    schedule: z.array(int),
  }),
  circuitBreaker: circuitConfig,
  filters: z.unknown().nullable(),
  rateLimit: z.object({ perSecond: z.number(), burst: int }).nullable().describe('null: unthrottled'),
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  createdAt: date,
  updatedAt: date,
});

const page = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), nextCursor: z.string().nullable() });

const attemptStats = {
  total: int,
  successes: int,
  failures: int,
  averageResponseMs: int.nullable(),
  lastActivityAt: date.nullable(),
};

const deadLetter = z.object({
  id: z.string(),
  deliveryId: z.string(),
  eventId: z.string(),
  endpointId: z.string(),
  run: int,
  attempts: int,
  reason: z.string(),
  lastStatusCode: int.nullable(),
  lastError: z.string().nullable(),
  createdAt: date,
  replayedAt: date.nullable(),
  replayRun: int.nullable(),
  kind: z.enum(['failed', 'terminated', 'cancelled']),
  stoppedBy: z.string().nullable(),
  workflowRunId: z.string().nullable(),
  resolvedAt: date.nullable(),
  resolution: z.enum(['delivered', 'superseded']).nullable(),
  resolvedVia: z.enum(['replay', 'reset', 'event_replay']).nullable(),
});

const application = z.object({
  id: z.string(),
  name: z.string(),
  /** Days its events are kept; null: the deployment's HOOKLINE_RETENTION_DAYS. */
  retentionDays: int.nullable(),
  createdAt: date,
});
const apiKey = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: date,
  revokedAt: date.nullable(),
});

export const RESPONSE_BODIES: Record<string, Record<number, z.ZodType>> = {
  'POST /api/events': { 202: eventAccepted, 200: eventAccepted },
  'POST /api/events/batch': { 207: batchResults },
  'GET /api/events': { 200: page(eventSummary) },
  'GET /api/events/:id': { 200: eventDetail },
  'GET /api/events/:id/deliveries': { 200: page(delivery) },
  'POST /api/events/:id/replay': {
    202: z.object({ eventId: z.string(), replay: int, workflowId: z.string(), temporalUiUrl: uiLink }),
  },
  'GET /api/deliveries/:id/attempts': { 200: z.object({ data: z.array(attempt) }) },
  'POST /api/endpoints': { 201: endpoint },
  'GET /api/endpoints': { 200: page(endpoint) },
  'GET /api/endpoints/:id': { 200: endpoint },
  'PATCH /api/endpoints/:id': { 200: endpoint },
  'POST /api/endpoints/:id/secret/rotate': { 200: endpoint },
  'GET /api/endpoints/:id/stats': { 200: z.object({ endpointId: z.string(), ...attemptStats }) },
  'GET /api/endpoints/:id/circuit': {
    200: z.object({
      endpointId: z.string(),
      state: z.enum(['closed', 'open', 'half_open']),
      consecutiveFailures: int,
      openUntil: date.nullable(),
      waiting: int,
      probe: z.string().nullable(),
      config: circuitConfig,
      workflowId: z.string().nullable(),
    }),
  },
  'GET /api/dead-letters': { 200: z.object({ data: z.array(deadLetter) }) },
  'POST /api/dead-letters/replay': {
    202: z.object({
      replayed: int,
      deliveries: z.array(z.object({ deadLetterId: z.string(), deliveryId: z.string(), run: int })),
      skipped: z.array(z.object({ deadLetterId: z.string(), reason: z.string() })),
    }),
  },
  'POST /api/dead-letters/:id/replay': {
    202: z.object({ deadLetterId: z.string(), deliveryId: z.string(), run: int, workflowId: z.string() }),
  },
  'GET /api/stats': {
    200: z.object({
      queues: z.object({
        // null while Temporal does not answer
        workflowTasks: int.nullable(),
        activityTasks: int.nullable(),
        pending: int,
        retrying: int,
        waitingCircuit: int,
        throttled: int,
        pendingDispatch: int,
        oldestPendingDispatchSeconds: int,
      }),
      endpoints: z.array(z.object({ endpointId: z.string(), name: z.string(), ...attemptStats })),
    }),
  },
  'POST /api/admin/applications': { 201: application },
  'GET /api/admin/applications': { 200: z.object({ data: z.array(application) }) },
  'PATCH /api/admin/applications/:id': { 200: application },
  'POST /api/admin/applications/:id/keys': { 201: apiKey.extend({ key: z.string() }) },
  'GET /api/admin/applications/:id/keys': { 200: z.object({ data: z.array(apiKey) }) },
};
