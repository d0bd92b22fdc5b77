import type { Client } from '@temporalio/client';
import protos from '@temporalio/proto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from './db/pool.js';
import { circuitStates, waitingDeliveries } from './db/stats.js';
import type { BacklogWatch } from './ingest/backlog.js';
import { countFailingWorkflows } from './temporal/problems.js';
import type { RetentionCounts } from '../workflows/contract.js';

/**
 * Distinct `event_type` label values one process exports; later types count under `(other)`,
 * which no event type can be (types are dotted words without parentheses).
 */
export const EVENT_TYPE_LABEL_LIMIT = 100;

/**
 * Prometheus metrics, the guide's names with the `hookline_` prefix, on a fresh Registry per
 * process. Counted in the API and in activities, never in workflow code (it re-runs on replay).
 * `endpoint` is the endpoint id; with per-endpoint labels off it is `all`. Every label has a
 * bounded set of values, because each value is a series kept for the life of the process: no
 * label takes free text from a request (an event's `source` is not a label).
 */
export function createMetrics(opts: { perEndpoint: boolean }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hookline_' });
  const endpoint = (id: string) => (opts.perEndpoint ? id : 'all');

  const eventsReceived = new Counter({
    name: 'hookline_events_received_total',
    help: 'Events accepted by the API',
    labelNames: ['event_type'],
    registers: [registry],
  });
  const webhooksSent = new Counter({
    name: 'hookline_webhooks_sent_total',
    help: 'Delivery attempts sent, by outcome status (HTTP status code, or the error class)',
    labelNames: ['endpoint', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'hookline_webhook_duration_seconds',
    help: 'Time from sending a webhook to its response',
    labelNames: ['endpoint'],
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const retryAttempts = new Counter({
    name: 'hookline_retry_attempts_total',
    help: 'Attempts after the first, by attempt number',
    labelNames: ['endpoint', 'attempt_number'],
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: 'hookline_dead_letters_total',
    help: 'Deliveries that ended as dead letters',
    labelNames: ['endpoint'],
    registers: [registry],
  });
  const throttleWaits = new Histogram({
    name: 'hookline_throttle_wait_seconds',
    help: "Durable waits for a slot under an endpoint's rateLimit (a throttled send), by the wait",
    labelNames: ['endpoint'],
    buckets: [0.1, 1, 10, 60, 600, 3600],
    registers: [registry],
  });
  const stopped = new Counter({
    name: 'hookline_deliveries_stopped_total',
    help: 'Deliveries whose workflow an operator terminated or cancelled (each also a dead letter)',
    labelNames: ['endpoint', 'kind'],
    registers: [registry],
  });

  const dispatched = new Counter({
    name: 'hookline_events_dispatched_total',
    help: 'Event workflow starts by the dispatcher: started, already_started (found running or done), failed (retried)',
    labelNames: ['result'],
    registers: [registry],
  });

  const pluginErrors = new Counter({
    name: 'hookline_plugin_errors_total',
    help: 'Plugin hooks that threw or timed out (the delivery went on)',
    labelNames: ['plugin', 'hook'],
    registers: [registry],
  });
  const retentionDeleted = new Counter({
    name: 'hookline_retention_deleted_total',
    help: 'Rows the retention workflow deleted, by table: events, deliveries, attempts, dead_letters',
    labelNames: ['table'],
    registers: [registry],
  });
  const eventTypes = new Set<string>();
  const eventTypeLabel = (type: string) => {
    if (eventTypes.has(type)) return type;
    if (eventTypes.size >= EVENT_TYPE_LABEL_LIMIT) return '(other)';
    eventTypes.add(type);
    return type;
  };
  return {
    registry,
    eventReceived(eventType: string) {
      eventsReceived.inc({ event_type: eventTypeLabel(eventType) });
    },
    attemptSent(endpointId: string, attempt: number, status: string, seconds: number) {
      webhooksSent.inc({ endpoint: endpoint(endpointId), status });
      duration.observe({ endpoint: endpoint(endpointId) }, seconds);
      if (attempt > 1) retryAttempts.inc({ endpoint: endpoint(endpointId), attempt_number: String(attempt) });
    },
    deliveryThrottled(endpointId: string, waitSeconds: number) {
      throttleWaits.observe({ endpoint: endpoint(endpointId) }, waitSeconds);
    },
    eventDispatched(result: 'started' | 'already_started' | 'failed') {
      dispatched.inc({ result });
    },
    /** Committed events without a workflow yet, read at scrape time. */
    observeDispatchBacklog(backlog: BacklogWatch) {
      new Gauge({
        name: 'hookline_events_pending_dispatch',
        help: 'Accepted (committed) events whose workflow has not been started yet',
        registers: [registry],
        async collect() {
          this.set((await backlog.refresh().catch(() => backlog.current())).pending);
        },
      });
      new Gauge({
        name: 'hookline_events_pending_dispatch_oldest_seconds',
        help: 'Age of the oldest accepted event whose workflow has not been started yet',
        registers: [registry],
        async collect() {
          this.set((await backlog.refresh().catch(() => backlog.current())).oldestSeconds);
        },
      });
    },
    deadLettered(endpointId: string) {
      deadLetters.inc({ endpoint: endpoint(endpointId) });
    },
    deliveryStopped(endpointId: string, kind: 'terminated' | 'cancelled') {
      stopped.inc({ endpoint: endpoint(endpointId), kind });
    },
    retentionDeleted(rows: RetentionCounts) {
      retentionDeleted.inc({ table: 'events' }, rows.events);
      retentionDeleted.inc({ table: 'deliveries' }, rows.deliveries);
      retentionDeleted.inc({ table: 'attempts' }, rows.attempts);
      retentionDeleted.inc({ table: 'dead_letters' }, rows.deadLetters);
    },
    pluginFailed(plugin: string, hook: string) {
      pluginErrors.inc({ plugin, hook });
    },
    /** Gauges read at scrape time from where the truth is: Temporal and the query model. */
    observeBacklog(source: { db: Db; temporal: Client; namespace: string; taskQueue: string }) {
      new Gauge({
        name: 'hookline_queue_size',
        help: 'Pending work: Temporal task queue backlogs and deliveries waiting to retry, for a circuit or for a throttle slot',
        labelNames: ['queue_name'],
        registers: [registry],
        async collect() {
          const backlog = await taskQueueBacklog(source);
          this.set({ queue_name: 'workflow_tasks' }, backlog.workflowTasks);
          this.set({ queue_name: 'activity_tasks' }, backlog.activityTasks);
          const waiting = await waitingDeliveries(source.db);
          this.set({ queue_name: 'deliveries_retrying' }, waiting.retrying);
          this.set({ queue_name: 'deliveries_waiting_circuit' }, waiting.waitingCircuit);
          this.set({ queue_name: 'deliveries_throttled' }, waiting.throttled);
        },
      });
      new Gauge({
        name: 'hookline_workflows_failing_tasks',
        help: "Running workflows whose workflow tasks keep failing (Temporal's TemporalReportedProblems); they make no progress",
        registers: [registry],
        async collect() {
          // Left as it was while Temporal does not answer (the scrape itself must not fail).
          const n = await countFailingWorkflows(source.temporal, source.taskQueue).catch(() => null);
          if (n !== null) this.set(n);
        },
      });
      new Gauge({
        name: 'hookline_circuit_breaker_state',
        help: 'Circuit breaker state per endpoint: 0 closed, 1 open, 2 half-open',
        labelNames: ['endpoint'],
        registers: [registry],
        async collect() {
          this.reset();
          const rows = await circuitStates(source.db);
          const value = { closed: 0, open: 1, half_open: 2 } as Record<string, number>;
          if (opts.perEndpoint) {
            for (const r of rows) this.set({ endpoint: r.endpointId }, value[r.state] ?? 0);
          } else {
            // One series: the worst state of any endpoint.
            this.set({ endpoint: 'all' }, Math.max(0, ...rows.map((r) => value[r.state] ?? 0)));
          }
        },
      });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Approximate backlog of the task queue's workflow and activity tasks, from Temporal. */
export async function taskQueueBacklog(source: { temporal: Client; namespace: string; taskQueue: string }) {
  const { TaskQueueType } = protos.temporal.api.enums.v1;
  const describe = (taskQueueType: protos.temporal.api.enums.v1.TaskQueueType) =>
    source.temporal.workflowService.describeTaskQueue({
      namespace: source.namespace,
      taskQueue: { name: source.taskQueue },
      taskQueueType,
      reportStats: true,
    });
  const [wf, act] = await Promise.all([
    describe(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
    describe(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
  ]);
  return {
    workflowTasks: Number(wf.stats?.approximateBacklogCount ?? 0),
    activityTasks: Number(act.stats?.approximateBacklogCount ?? 0),
    /** Workers that polled the queue recently (Temporal keeps a poller for about a minute). */
    workflowPollers: wf.pollers?.length ?? 0,
  };
}
