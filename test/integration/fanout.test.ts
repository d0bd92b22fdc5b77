// Fan-out at any width (#18), on the real stack: Temporal's dev server enforces its limit of
// 2,000 pending children per workflow, so an event matching 2,500 endpoints shows the windows,
// the continue-as-new chain and the hand-off are real.
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { newId } from '../../src/db/ids.js';
import { requireBinary } from '../../src/temporal/binaries.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { searchAttributes } from '../../workflows/contract.js';
import { cloneEndpoints } from '../helpers/endpoints.js';
import type { Receiver } from '../helpers/receiver.js';
import { api, startStackAndReceiver, stopStackAndReceiver, type TestStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

const WIDE = 2_500;

interface EventView {
  status: string;
  matched: number | null;
  progress: Record<string, number>;
}

describe('fan-out at any width', () => {
  let stack: TestStack;
  let receiver: Receiver;
  before(async () => {
    ({ stack, receiver } = await startStackAndReceiver({ HOOKLINE_RECONCILE_INTERVAL_MS: '500' }));
  });
  after(() => stopStackAndReceiver(stack, receiver));

  const endpoints = (type: string, n: number, prefix: string) =>
    cloneEndpoints(stack, receiver.url, type, n, prefix);

  const send = async (type: string) => {
    const res = await api(stack, 'POST', '/api/events', { type, payload: { at: Date.now() } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return (res.body as { eventId: string }).eventId;
  };
  const event = async (id: string) => (await api(stack, 'GET', `/api/events/${id}`)).body as EventView;

  it(`delivers an event matching ${WIDE} endpoints to every one exactly once, in bounded runs, while a small event is delivered within seconds`, async () => {
    await endpoints('fan.big', WIDE, 'w');
    await endpoints('fan.small', 1, 's');
    const wide = await send('fan.big');

    // During the fan-out: its progress only grows, and a small event overtakes the backlog.
    const seen: number[] = [];
    await waitUntil(
      async () => {
        const e = await event(wide);
        seen.push(e.progress.delivered!);
        return receiver.received.length >= 300;
      },
      120_000,
      250,
    );
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
      'delivered only grows',
    );
    const mid = await event(wide);
    assert.equal(mid.status, 'delivering');
    const small = await send('fan.small');
    const sentAt = Date.now();
    await receiver.waitFor(1, { path: '/s/0', timeoutMs: 30_000 });
    const smallLatency = receiver.to('/s/0')[0]!.at - sentAt;
    const backlog = WIDE - receiver.received.filter((r) => r.path.startsWith('/w/')).length;
    console.log(`small event delivered in ${smallLatency} ms with ${backlog} wide deliveries still to go`);
    assert.ok(smallLatency < 10_000, `the small event waited ${smallLatency} ms behind the wide one`);
    assert.ok(backlog > 0, 'the small event was sent during the fan-out');

    await waitUntil(
      async () => receiver.received.filter((r) => r.path.startsWith('/w/')).length >= WIDE,
      600_000,
      1_000,
    );
    await new Promise((r) => setTimeout(r, 2_000)); // no late duplicates
    const paths = receiver.received.filter((r) => r.path.startsWith('/w/')).map((r) => r.path);
    assert.equal(paths.length, WIDE, 'one request per endpoint, no duplicates');
    assert.equal(new Set(paths).size, WIDE, 'every endpoint reached');
    const ids = receiver.received.filter((r) => r.path.startsWith('/w/')).map((r) => r.headers['webhook-id']);
    assert.equal(new Set(ids).size, WIDE, 'one webhook-id per delivery');

    await waitUntil(async () => (await event(wide)).status === 'delivered', 30_000);
    const done = await event(wide);
    assert.equal(done.matched, WIDE);
    assert.deepEqual(done.progress, {
      pending: 0,
      active: 0,
      delivered: WIDE,
      failed: 0,
      terminated: 0,
      cancelled: 0,
    });
    assert.equal((await event(small)).status, 'delivered');

    // The event's workflow: a chain of runs of at most 500 children each, none with failing tasks.
    const runs = [];
    for await (const w of stack.platform.temporal.workflow.list({
      query: `WorkflowId = "${eventWorkflowId(wide)}"`,
    })) {
      runs.push(w);
    }
    assert.equal(runs.length, WIDE / 500, 'one run per window of 500');
    const sizes: string[] = [];
    for (const run of runs) {
      const d = await stack.platform.temporal.workflow.getHandle(run.workflowId, run.runId).describe();
      // At most 3 events per child (initiated, started, completed while the run is open) and a
      // workflow task (3 events) per such event: ≤ 4,500 for 500 children, far under Temporal's
      // 10,240-event warning. Measured: about 2,100.
      assert.ok(d.historyLength <= 4_600, `run ${run.runId} has ${d.historyLength} events`);
      const size = Number(d.raw.workflowExecutionInfo?.historySizeBytes ?? 0);
      assert.ok(size > 0 && size < 2 * 1024 * 1024, `run ${run.runId} history is ${size} bytes`);
      sizes.push(`${d.historyLength} events/${Math.round(size / 1024)} KiB`);
      assert.equal(
        d.searchAttributes[searchAttributes.eventId.name]?.[0],
        wide,
        'carried over continue-as-new',
      );
      assert.equal(d.searchAttributes.TemporalReportedProblems, undefined);
    }

    console.log(`event runs: ${sizes.join(', ')}`);

    // Its deliveries page through the API, 100 at a time, none missing or repeated.
    const pageIds: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = (await api(stack, 'GET', `/api/events/${wide}/deliveries?limit=100${q}`)).body as {
        data: Array<{ id: string; status: string }>;
        nextCursor: string | null;
      };
      assert.ok(page.data.length <= 100);
      for (const d of page.data) {
        assert.equal(d.status, 'delivered');
        pageIds.push(d.id);
      }
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(pageIds.length, WIDE);
    assert.equal(new Set(pageIds).size, WIDE);
  });

  it('continues as new with a cursor when the window is smaller than the match, and starts each delivery once', async () => {
    await endpoints('fan.seven', 7, 'v');
    const { handle, eventId: windowed } = await startWindowed('fan.seven', { window: 3 });
    const last = await stack.platform.temporal.workflow.getHandle(handle.workflowId).result();
    assert.equal((last as { run: number }).run, 3, 'three runs of at most 3 children');
    assert.equal((last as { started: number }).started, 7);
    await waitUntil(async () => receiver.received.filter((r) => r.path.startsWith('/v/')).length >= 7);
    await new Promise((r) => setTimeout(r, 1_000));
    const paths = receiver.received.filter((r) => r.path.startsWith('/v/')).map((r) => r.path);
    assert.equal(paths.length, 7);
    assert.equal(new Set(paths).size, 7);
    await waitUntil(async () => (await event(windowed)).status === 'delivered');
  });

  /**
   * An event of `type` whose workflow is started here with test-only options (a small window),
   * on a row the dispatcher leaves alone (already dispatched).
   */
  async function startWindowed(type: string, opts: { window: number; pace?: number }) {
    const res = await api(stack, 'POST', '/api/events', { type: 'fan.none', payload: {} });
    const base = (res.body as { eventId: string }).eventId;
    await waitUntil(async () => (await event(base)).status === 'no_match');
    const eventId = newId('evt');
    const { rows } = await stack.platform.db.query<{ application_id: string }>(
      `INSERT INTO events (id, application_id, type, body, options, tags, priority, dispatched_at)
       SELECT $2, application_id, $3, body, options, tags, priority, now() FROM events WHERE id = $1
       RETURNING application_id`,
      [base, eventId, type],
    );
    const handle = await stack.platform.temporal.workflow.start('eventWorkflow', {
      workflowId: eventWorkflowId(eventId),
      taskQueue: stack.config.temporalTaskQueue,
      args: [{ eventId, applicationId: rows[0]!.application_id, eventType: type, ...opts }],
    });
    return { handle, eventId };
  }

  /** The event's second run, once it paces (its first run's deliveries are held by the receiver). */
  async function pacingRun(workflowId: string) {
    const h = stack.platform.temporal.workflow.getHandle(workflowId);
    await waitUntil(
      async () =>
        (await h.query<{ phase: string }>('eventWorkflow.fanout').catch(() => null))?.phase === 'pacing',
      60_000,
      200,
    );
    return h;
  }

  /**
   * Seven endpoints whose receiver holds each request 4 s, an event run with a window of 3: its
   * second run paces (the first three are not attempted yet), and `stop` stops it then.
   */
  async function stoppedBetweenWindows(prefix: string, stop: (h: WorkflowHandle) => Promise<void>) {
    await endpoints(`fan.${prefix}`, 7, prefix);
    for (let i = 0; i < 7; i++) receiver.delay(`/${prefix}/${i}`, 4_000);
    const { handle, eventId } = await startWindowed(`fan.${prefix}`, { window: 3, pace: 0 });
    await stop(await pacingRun(handle.workflowId));
    const kind = prefix === 'c' ? 'cancelled' : 'terminated';
    await waitUntil(async () => (await event(eventId)).progress[kind] === 4, 30_000, 200);
    await waitUntil(async () => (await event(eventId)).status === 'partially_failed', 30_000);
    await new Promise((r) => setTimeout(r, 1_500)); // more reconciler passes: nothing twice
    const e = await event(eventId);
    const progress = { pending: 0, active: 0, delivered: 3, failed: 0, terminated: 0, cancelled: 0 };
    assert.deepEqual(e.progress, { ...progress, [kind]: 4 });
    assert.equal(
      receiver.received.filter((r) => r.path.startsWith(`/${prefix}/`)).length,
      3,
      'the started three',
    );
    const dead = (await api(stack, 'GET', `/api/dead-letters?limit=100`)).body as {
      data: Array<{ eventId: string; kind: string; reason: string }>;
    };
    const mine = dead.data.filter((d) => d.eventId === eventId);
    assert.equal(mine.length, 4);
    for (const d of mine) assert.equal(d.kind, kind);
    return mine;
  }

  it('a cancelled event workflow leaves its started deliveries running and turns the rest into cancelled dead letters', async () => {
    await stoppedBetweenWindows('c', async (h) => {
      await h.cancel();
      await waitUntil(async () => (await h.describe()).status.name === 'CANCELLED', 30_000);
    });
  });

  it('a terminated event workflow: the reconciler turns its unstarted deliveries into terminated dead letters, once', async () => {
    const dead = await stoppedBetweenWindows('t', async (h) => void (await h.terminate('operator gave up')));
    for (const d of dead) assert.match(d.reason, /operator gave up/);
  });

  it('a reset of an event workflow delivers the event again, as an event replay does', async () => {
    await endpoints('fan.reset', 2, 'r');
    const id = await send('fan.reset');
    await waitUntil(async () => (await event(id)).status === 'delivered', 60_000, 200);
    await promisify(execFile)(requireBinary('cli'), [
      'workflow',
      'reset',
      '--workflow-id',
      eventWorkflowId(id),
      '--type',
      'FirstWorkflowTask',
      '--reason',
      'deliver again',
      '--address',
      stack.platform.temporalAddress,
      '--namespace',
      stack.config.temporalNamespace,
    ]);
    await waitUntil(
      async () => receiver.received.filter((r) => r.path.startsWith('/r/')).length >= 4,
      60_000,
    );
    await waitUntil(async () => (await event(id)).status === 'delivered', 30_000, 200);
    const e = (await api(stack, 'GET', `/api/events/${id}`)).body as EventView & {
      replays: number;
      deliveries: Array<{ attempts: number }>;
    };
    assert.equal(e.replays, 1, 'counted as a replay');
    assert.deepEqual(e.progress, {
      pending: 0,
      active: 0,
      delivered: 2,
      failed: 0,
      terminated: 0,
      cancelled: 0,
    });
    const paths = receiver.received.filter((r) => r.path.startsWith('/r/')).map((r) => r.path);
    assert.deepEqual(paths.sort(), ['/r/0', '/r/0', '/r/1', '/r/1'], 'each endpoint once per run');
  });
});
