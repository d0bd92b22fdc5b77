import assert from 'node:assert/strict';
import { searchAttributes } from '../../workflows/contract.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { EventSource } from 'eventsource';
import { requireBinary } from '../../src/temporal/binaries.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { api, startStack, workflowResult, type TestStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

/** The value of one series in Prometheus text format, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('observability on the real stack', () => {
  let stack: TestStack;
  let receiver: Receiver;
  let endpointId: string;
  let deadEventId: string;

  before(async () => {
    receiver = await startReceiver();
    stack = await startStack();
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'observed',
      url: `${receiver.url}/observed`,
      events: ['obs.*'],
      retryConfig: { strategy: 'fixed', baseDelay: 300, maxAttempts: 2 },
      circuitBreaker: { threshold: 50 },
    });
    endpointId = ep.body.id;
    // Three events: the first meets a 500 once, then 200s; then one dead letter.
    receiver.respond('/observed', 500);
    const first = await api(stack, 'POST', '/api/events', {
      type: 'obs.x',
      source: 'tests',
      payload: { n: 0 },
    });
    await receiver.waitFor(1, { path: '/observed' });
    receiver.respond('/observed', 200);
    await workflowResult(stack, first.body.workflowId);
    for (const n of [1, 2]) {
      const e = await api(stack, 'POST', '/api/events', { type: 'obs.x', source: 'tests', payload: { n } });
      await workflowResult(stack, e.body.workflowId);
    }
    receiver.respond('/observed', 503);
    const dead = await api(stack, 'POST', '/api/events', { type: 'obs.dead', source: 'tests', payload: {} });
    deadEventId = dead.body.eventId;
    await workflowResult(stack, dead.body.workflowId);
    // The event is `failed` from the moment its dead letter's row is written; the dead letter is
    // counted in /metrics after that, by the delivery's last activity: wait for its workflow to close.
    await workflowResult(stack, `delivery:${deadEventId}:${endpointId}`);
  });

  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  it('counts real deliveries in /metrics under the guide names', async () => {
    const res = await fetch(`${stack.platform.apiUrl}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const ep = { endpoint: endpointId };
    assert.equal(sample(text, 'hookline_events_received_total', { event_type: 'obs.x' }), 3);
    assert.equal(sample(text, 'hookline_events_received_total', { event_type: 'obs.dead' }), 1);
    assert.equal(sample(text, 'hookline_webhooks_sent_total', { ...ep, status: '200' }), 3);
    assert.equal(sample(text, 'hookline_webhooks_sent_total', { ...ep, status: '500' }), 1);
    assert.equal(sample(text, 'hookline_webhooks_sent_total', { ...ep, status: '503' }), 2);
    assert.equal(sample(text, 'hookline_webhook_duration_seconds_count', ep), 6);
    assert.equal(sample(text, 'hookline_webhook_duration_seconds_bucket', { ...ep, le: '30' }), 6);
    assert.equal(sample(text, 'hookline_retry_attempts_total', { ...ep, attempt_number: '2' }), 2);
    assert.equal(sample(text, 'hookline_dead_letters_total', ep), 1);
    assert.equal(sample(text, 'hookline_circuit_breaker_state', ep), 0, 'seen failures, still closed');
    assert.equal(sample(text, 'hookline_queue_size', { queue_name: 'workflow_tasks' }), 0);
    assert.equal(sample(text, 'hookline_queue_size', { queue_name: 'deliveries_retrying' }), 0);
    assert.ok(sample(text, 'hookline_process_cpu_user_seconds_total')! > 0, 'process defaults');
    assert.doesNotMatch(text, new RegExp(receiver.url.replace(/[.:/]/g, '.')), 'no URL in any label');
  });

  it('reports health: 200 with every part named', async () => {
    const res = await fetch(`${stack.platform.apiUrl}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      status: 'ok',
      api: 'ok',
      database: 'ok',
      temporal: 'ok',
      worker: 'ok',
      failing: [],
      failingWorkflowTasks: 0,
    });
  });

  it('returns queue and per-endpoint statistics', async () => {
    const stats = await api(stack, 'GET', '/api/stats');
    assert.equal(stats.status, 200);
    assert.deepEqual(Object.keys(stats.body.queues).sort(), [
      'activityTasks',
      'oldestPendingDispatchSeconds',
      'pending',
      'pendingDispatch',
      'retrying',
      'throttled',
      'waitingCircuit',
      'workflowTasks',
    ]);
    const mine = stats.body.endpoints.find((e: { endpointId: string }) => e.endpointId === endpointId);
    assert.equal(mine.total, 6);
    assert.equal(mine.successes, 3);
    assert.equal(mine.failures, 3);
    assert.ok(mine.averageResponseMs >= 0);
    assert.ok(mine.lastActivityAt);
  });

  it('streams live metrics every second to a real EventSource client', async () => {
    const es = new EventSource(`${stack.platform.apiUrl}/api/metrics/stream`, {
      fetch: (url, init) =>
        fetch(url, {
          ...init,
          headers: { ...(init?.headers ?? {}), authorization: `Bearer ${stack.apiKey}` },
        }),
    });
    const messages: Array<{ at: string; eventsPerSecond: number; successRate: number; queues: object }> = [];
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${messages.length} messages`)), 5000);
        es.addEventListener('metrics', (e) => {
          messages.push(JSON.parse(e.data));
          if (messages.length === 3) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    } finally {
      es.close();
    }
    const [a, , c] = messages;
    const gap = Date.parse(c!.at) - Date.parse(a!.at);
    assert.ok(gap >= 1500 && gap <= 8000, `three messages a second or so apart (${gap} ms)`);
    assert.ok(a!.eventsPerSecond > 0);
    assert.equal(a!.successRate, 0.5);
    assert.ok('workflowTasks' in a!.queues);
  });

  it('finds workflows by search attribute with the Temporal CLI, as an operator would', async () => {
    const list = async (query: string) => {
      const { stdout } = await promisify(execFile)(requireBinary('cli'), [
        'workflow',
        'list',
        '--address',
        stack.platform.temporalAddress,
        '--query',
        query,
        '--output',
        'json',
      ]);
      return (JSON.parse(stdout || '[]') as Array<{ execution: { workflowId: string } }>).map(
        (w) => w.execution.workflowId,
      );
    };
    // Visibility is eventually consistent: wait for the last upsert to be indexed.
    const deadId = `delivery:${deadEventId}:${endpointId}`;
    await waitUntil(
      async () => (await list(`HooklineDeliveryStatus = "dead_lettered"`)).includes(deadId),
      15_000,
      250,
    );
    const byEndpoint = await list(`HooklineEndpointId = "${endpointId}"`);
    assert.equal(byEndpoint.length, 4, 'every delivery to the endpoint');
    const byEvent = await list(`HooklineEventId = "${deadEventId}"`);
    assert.deepEqual(byEvent.sort(), [deadId, `event:${deadEventId}`].sort());
    const described = await stack.platform.temporal.workflow.getHandle(deadId).describe();
    // The search attributes name the delivery's event, endpoint and type (no memo repeats them).
    const attrs = described.typedSearchAttributes;
    assert.equal(attrs.get(searchAttributes.eventId), deadEventId);
    assert.equal(attrs.get(searchAttributes.endpointId), endpointId);
    assert.equal(attrs.get(searchAttributes.eventType), 'obs.dead');
  });

  // Last: waiting for Temporal to flag the stuck run may take a while (its budget is 90 s), and the
  // tests above read the traffic of `before` over the last minute (the metrics stream).
  it('counts a workflow whose tasks keep failing in /health and /metrics, until it is gone', async () => {
    // A workflow type the worker does not have: every workflow task fails, and Temporal flags it.
    const stuck = await stack.platform.temporal.workflow.start('noSuchWorkflow', {
      taskQueue: stack.config.temporalTaskQueue,
      workflowId: `stuck-${Date.now()}`,
    });
    try {
      await waitUntil(
        async () =>
          ((await (await fetch(`${stack.platform.apiUrl}/health`)).json()) as any).failingWorkflowTasks >= 1,
        90_000,
        500,
      );
      const metrics = await (await fetch(`${stack.platform.apiUrl}/metrics`)).text();
      assert.ok((sample(metrics, 'hookline_workflows_failing_tasks') ?? 0) >= 1);
    } finally {
      await stuck.terminate('test over');
    }
    await waitUntil(
      async () =>
        ((await (await fetch(`${stack.platform.apiUrl}/health`)).json()) as any).failingWorkflowTasks === 0,
      30_000,
      500,
    );
  });
});
