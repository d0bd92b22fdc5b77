import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config.js';
import { purgeExpiredBatch } from '../../src/db/retention.js';
import { DEFAULT_APPLICATION_ID } from '../../src/db/applications.js';
import { FINAL_EVENT_STATUSES, type EventStatus } from '../../src/domain/vocabulary.js';
import { createLogger } from '../../src/logger.js';
import { startPlatform, type Platform } from '../../src/platform.js';
import {
  RETENTION_SCHEDULE_ID,
  type RetentionPass,
  type RetentionPassResult,
  type RetentionResult,
} from '../../workflows/contract.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { api, startStack, workflowBundle, type TestStack } from '../helpers/stack.js';
import { timeSkippingEnvironment } from '../helpers/time-skipping.js';
import { waitUntil } from '../helpers/wait.js';

describe('retention', () => {
  let stack: TestStack;
  let receiver: Receiver;

  const admin = (method: string, route: string, body?: unknown) =>
    api(stack, method, route, body, { authorization: `Bearer ${stack.config.adminToken}` });

  /** Rows of each table that belong to the event. */
  async function rowsOf(eventId: string) {
    const { rows } = await stack.platform.db.query<{
      events: number;
      deliveries: number;
      attempts: number;
      dead: number;
    }>(
      `SELECT (SELECT count(*)::int FROM events WHERE id = $1) AS events,
              (SELECT count(*)::int FROM deliveries WHERE event_id = $1) AS deliveries,
              (SELECT count(*)::int FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
                WHERE d.event_id = $1) AS attempts,
              (SELECT count(*)::int FROM dead_letters WHERE event_id = $1) AS dead`,
      [eventId],
    );
    return rows[0]!;
  }

  /** Sends an event with `key` and waits until its status says `until`. */
  async function send(
    key: string,
    type: string,
    until: (s: EventStatus) => boolean = (s) => FINAL_EVENT_STATUSES.has(s),
  ): Promise<string> {
    const sent = await api(
      stack,
      'POST',
      '/api/events',
      { type, payload: { n: 1 } },
      {
        authorization: `Bearer ${key}`,
      },
    );
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const id = sent.body.eventId as string;
    await waitUntil(async () => {
      const e = await api(stack, 'GET', `/api/events/${id}`, undefined, { authorization: `Bearer ${key}` });
      return until(e.body.status as EventStatus);
    });
    return id;
  }

  const backdate = (eventId: string, days: number) =>
    stack.platform.db.query(
      `UPDATE events SET created_at = now() - make_interval(days => $2) WHERE id = $1`,
      [eventId, days],
    );

  /** Runs the schedule's action now and waits for that run's result. */
  async function runRetentionNow(): Promise<RetentionResult> {
    const schedule = stack.platform.temporal.schedule.getHandle(RETENTION_SCHEDULE_ID);
    const before = (await schedule.describe()).info.numActionsTaken;
    await schedule.trigger();
    let workflowId = '';
    await waitUntil(async () => {
      const d = await schedule.describe();
      if (d.info.numActionsTaken <= before) return false;
      workflowId = d.info.recentActions.at(-1)!.action.workflow.workflowId;
      return true;
    });
    return stack.platform.temporal.workflow.getHandle(workflowId).result() as Promise<RetentionResult>;
  }

  before(async () => {
    receiver = await startReceiver();
    receiver.respond('/refuses', 400);
    receiver.respond('/busy', 503);
    stack = await startStack({ env: { HOOKLINE_RETENTION_DAYS: '7' } });
    for (const [path, events] of [
      ['/ok', ['order.*']],
      ['/refuses', ['order.*']],
    ] as const) {
      const made = await api(stack, 'POST', '/api/endpoints', {
        name: path,
        url: receiver.url + path,
        events,
      });
      assert.equal(made.status, 201, JSON.stringify(made.body));
    }
    // Retries an hour apart: its deliveries stay under way for the whole test.
    const busy = await api(stack, 'POST', '/api/endpoints', {
      name: 'busy',
      url: `${receiver.url}/busy`,
      events: ['slow.*'],
      retryConfig: { maxAttempts: 5, strategy: 'fixed', baseDelay: 3_600_000, maxDelay: 3_600_000 },
    });
    assert.equal(busy.status, 201, JSON.stringify(busy.body));
  });

  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  it('creates a daily schedule at start that runs retentionWorkflow, and the dev server keeps workflows as long', async () => {
    const d = await stack.platform.temporal.schedule.getHandle(RETENTION_SCHEDULE_ID).describe();
    assert.equal(d.action.workflowType, 'retentionWorkflow');
    assert.equal(d.action.taskQueue, stack.config.temporalTaskQueue);
    assert.deepEqual(d.action.args, [{ defaultDays: 7 }]);
    assert.equal(d.spec.calendars?.length, 1);
    assert.equal(d.state.paused, false);
    const ns = await stack.platform.temporal.workflowService.describeNamespace({
      namespace: stack.config.temporalNamespace,
    });
    assert.equal(Number(ns.config?.workflowExecutionRetentionTtl?.seconds), 7 * 86_400);
  });

  it('deletes expired events with their deliveries, attempts and dead letters; recent ones and events still being delivered stay', async () => {
    const expired = [await send(stack.apiKey, 'order.created'), await send(stack.apiKey, 'order.paid')];
    const recent = await send(stack.apiKey, 'order.created');
    const delivering = await send(stack.apiKey, 'slow.created', (s) => s === 'delivering');
    await receiver.waitFor(1, { path: '/busy' });
    for (const id of [...expired, recent]) {
      const rows = await rowsOf(id);
      assert.deepEqual(
        rows,
        { events: 1, deliveries: 2, attempts: 2, dead: 1 },
        'one delivered, one dead letter',
      );
    }
    for (const id of expired) await backdate(id, 8);
    await backdate(recent, 6);
    await backdate(delivering, 40);
    const metricBefore = await deletedMetric();

    const result = await runRetentionNow();

    for (const id of expired) {
      assert.deepEqual(await rowsOf(id), { events: 0, deliveries: 0, attempts: 0, dead: 0 }, id);
    }
    assert.deepEqual(await rowsOf(recent), { events: 1, deliveries: 2, attempts: 2, dead: 1 });
    const still = await rowsOf(delivering);
    assert.equal(still.events, 1, 'an event still being delivered is never deleted');
    assert.equal(still.deliveries, 1);
    assert.deepEqual(result.deleted, { events: 2, deliveries: 4, attempts: 4, deadLetters: 2 });
    const metricAfter = await deletedMetric();
    assert.equal(metricAfter.events - metricBefore.events, 2);
    assert.equal(metricAfter.attempts - metricBefore.attempts, 4);
    assert.equal(metricAfter.dead_letters - metricBefore.dead_letters, 2);
    // The event whose deliveries were deleted around it is intact: its status is as it was.
    const left = await api(stack, 'GET', `/api/events/${delivering}`);
    assert.equal(left.body.status, 'delivering');
  });

  it("keeps an application's events for its own retention, set and reset by the admin API", async () => {
    const made = await admin('POST', '/api/admin/applications', { name: 'short-lived', retentionDays: 2 });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.retentionDays, 2);
    const appId = made.body.id as string;
    const key = (await admin('POST', `/api/admin/applications/${appId}/keys`, {})).body.key as string;
    const ep = await api(
      stack,
      'POST',
      '/api/endpoints',
      { name: 'ok', url: `${receiver.url}/short`, events: ['*'] },
      { authorization: `Bearer ${key}` },
    );
    assert.equal(ep.status, 201);
    const short = await send(key, 'user.created');
    const longer = await send(stack.apiKey, 'order.created');
    await backdate(short, 3);
    await backdate(longer, 3);

    await runRetentionNow();
    assert.equal((await rowsOf(short)).events, 0, 'older than its application’s 2 days');
    assert.equal((await rowsOf(longer)).events, 1, 'younger than the default 7 days');

    const patched = await admin('PATCH', `/api/admin/applications/${appId}`, { retentionDays: null });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.retentionDays, null);
    assert.equal(patched.body.name, 'short-lived');
    const listed = await admin('GET', '/api/admin/applications');
    assert.equal(listed.body.data.find((a: { id: string }) => a.id === appId).retentionDays, null);
    assert.equal(
      (await admin('PATCH', `/api/admin/applications/${appId}`, { retentionDays: 0 })).status,
      400,
    );
    assert.equal(
      (await admin('PATCH', '/api/admin/applications/app_nonexistent', { name: 'x' })).status,
      404,
    );
  });

  it('deletes in bounded batches: at most maxEvents events a statement, and a wide event alone', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await send(stack.apiKey, 'order.created'));
    for (const id of ids) await backdate(id, 30);
    const batch = (maxEvents: number, maxDeliveries: number) =>
      purgeExpiredBatch(stack.platform.db, {
        applicationId: DEFAULT_APPLICATION_ID,
        days: 7,
        maxEvents,
        maxDeliveries,
      });
    // Each event has two deliveries: a budget of one delivery still takes one event.
    assert.deepEqual(await batch(500, 1), { events: 1, deliveries: 2, attempts: 2, deadLetters: 1 });
    assert.deepEqual(await batch(1, 5_000), { events: 1, deliveries: 2, attempts: 2, deadLetters: 1 });
    assert.equal((await batch(500, 5_000)).events, 1);
    assert.equal((await batch(500, 5_000)).events, 0);
  });

  it('links no workflow that Temporal has already forgotten', async () => {
    const fresh = await send(stack.apiKey, 'order.created');
    const old = await send(stack.apiKey, 'slow.updated', (s) => s === 'delivering');
    await backdate(old, 8);
    const f = await api(stack, 'GET', `/api/events/${fresh}`);
    assert.match(f.body.temporalUiUrl, /\/workflows\/event%3Aevt_/);
    assert.ok(f.body.deliveries.every((d: { temporalUiUrl: string | null }) => d.temporalUiUrl));
    const o = await api(stack, 'GET', `/api/events/${old}`);
    assert.equal(o.body.temporalUiUrl, null, 'created longer ago than the namespace keeps workflows');
    assert.ok(o.body.deliveries[0].temporalUiUrl, 'its delivery still runs, so Temporal has it');
    const listed = await api(stack, 'GET', '/api/events?type=slow.updated');
    assert.equal(listed.body.data[0].temporalUiUrl, null);
  });

  it('two workers starting at once both start and leave one schedule with their settings', async () => {
    const logs: string[] = [];
    const bundle = await workflowBundle();
    const worker = () =>
      startPlatform({
        config: loadConfig({
          HOOKLINE_ROLE: 'worker',
          TEMPORAL_ADDRESS: stack.platform.temporalAddress,
          DATABASE_URL: stack.platform.databaseUrl,
          HOOKLINE_TASK_QUEUE: stack.config.temporalTaskQueue,
          HOOKLINE_METRICS_PORT: '0',
          HOOKLINE_RETENTION_DAYS: '9',
        }),
        log: createLogger('warn', { write: (line: string) => void logs.push(line) }),
        workflowBundle: bundle,
      });
    const started: Platform[] = [];
    try {
      const results = await Promise.allSettled([worker(), worker()]);
      for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
      assert.equal(
        started.length,
        2,
        results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join(),
      );
      assert.deepEqual(
        logs.filter((l) => l.includes('schedule')),
        [],
        'neither start logged a schedule problem',
      );
      const d = await stack.platform.temporal.schedule.getHandle(RETENTION_SCHEDULE_ID).describe();
      assert.deepEqual(d.action.args, [{ defaultDays: 9 }]);
      const all = [];
      for await (const s of stack.platform.temporal.schedule.list()) all.push(s.scheduleId);
      assert.equal(all.filter((id) => id === RETENTION_SCHEDULE_ID).length, 1);
    } finally {
      for (const p of started) await p.stop();
    }
  });

  async function deletedMetric() {
    const res = await fetch(`${stack.platform.apiUrl}/metrics`);
    const text = await res.text();
    const out = { events: 0, deliveries: 0, attempts: 0, dead_letters: 0 };
    for (const m of text.matchAll(/^hookline_retention_deleted_total\{table="(\w+)"\} (\d+)/gm)) {
      out[m[1] as keyof typeof out] = Number(m[2]);
    }
    return out;
  }
});

describe('retentionWorkflow on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;

  before(async () => {
    env = await timeSkippingEnvironment();
  });

  after(async () => {
    await env?.teardown();
  });

  it('calls the activity pass after pass, each resuming where the last stopped, and adds up what they deleted', async () => {
    const passes: RetentionPass[] = [];
    const answers: RetentionPassResult[] = [
      { deleted: { events: 500, deliveries: 900, attempts: 1800, deadLetters: 3 }, resumeAt: 'app_b' },
      { deleted: { events: 2, deliveries: 2, attempts: 4, deadLetters: 0 }, resumeAt: 'app_c' },
      { deleted: { events: 0, deliveries: 0, attempts: 0, deadLetters: 0 }, resumeAt: null },
    ];
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'retention',
      workflowBundle: await workflowBundle(),
      activities: {
        async purgeExpiredEvents(pass: RetentionPass) {
          passes.push(pass);
          return answers[passes.length - 1]!;
        },
      },
    });
    const result = await worker.runUntil(
      env.client.workflow.execute('retentionWorkflow', {
        workflowId: 'retention-passes',
        taskQueue: 'retention',
        args: [{ defaultDays: 30, maxEvents: 100 }],
      }),
    );
    assert.deepEqual(result, {
      deleted: { events: 502, deliveries: 902, attempts: 1804, deadLetters: 3 },
      passes: 3,
    });
    assert.deepEqual(
      passes.map((p) => p.resumeAt),
      [undefined, 'app_b', 'app_c'],
    );
    assert.ok(passes.every((p) => p.defaultDays === 30 && p.maxEvents === 100 && p.maxDeliveries === 5_000));
  });
});
