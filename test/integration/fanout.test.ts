// Fan-out at any width (#18), on the real stack: Temporal's dev server enforces its limit of
// 2,000 pending children per workflow, so an event matching 2,500 endpoints shows the windows,
// the continue-as-new chain and the hand-off are real.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/db/ids.js';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { searchAttributes } from '../../workflows/contract.js';
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
    ({ stack, receiver } = await startStackAndReceiver());
  });
  after(() => stopStackAndReceiver(stack, receiver));

  /** `n` endpoints subscribed to `type`, each at its own path: one made by the API, the rest cloned in SQL. */
  async function endpoints(type: string, n: number, prefix: string): Promise<void> {
    const made = await api(stack, 'POST', '/api/endpoints', {
      name: `${prefix}-0`,
      url: `${receiver.url}/${prefix}/0`,
      events: [type],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const id = (made.body as { id: string }).id;
    await stack.platform.db.query(
      `INSERT INTO endpoints (id, application_id, name, url, event_types, headers, secret, signature_header,
         timeout_ms, enabled, retry_config, circuit_breaker, filters)
       SELECT substr(id, 1, 24) || lpad(g::text, 5, '0'), application_id, name || '-' || g, $1 || g, event_types, headers, secret,
         signature_header, timeout_ms, enabled, retry_config, circuit_breaker, filters
       FROM endpoints, generate_series(1, $2::int - 1) g WHERE id = $3`,
      [`${receiver.url}/${prefix}/`, n, id],
    );
  }

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
    for (const run of runs) {
      const d = await stack.platform.temporal.workflow.getHandle(run.workflowId, run.runId).describe();
      assert.ok(d.historyLength <= 1_800, `run ${run.runId} has ${d.historyLength} events`);
      assert.equal(
        d.searchAttributes[searchAttributes.eventId.name]?.[0],
        wide,
        'carried over continue-as-new',
      );
      assert.equal(d.searchAttributes.TemporalReportedProblems, undefined);
    }

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
    // An event row that the dispatcher leaves alone (dispatched), run with a window of 3.
    const windowed = newId('evt');
    const res = await api(stack, 'POST', '/api/events', { type: 'fan.none', payload: {} });
    const base = (res.body as { eventId: string }).eventId;
    await waitUntil(async () => (await event(base)).status === 'no_match');
    await stack.platform.db.query(
      `INSERT INTO events (id, application_id, type, body, options, tags, priority, dispatched_at)
       SELECT $2, application_id, 'fan.seven', body, options, tags, priority, now() FROM events WHERE id = $1`,
      [base, windowed],
    );
    const app = await stack.platform.db.query<{ application_id: string }>(
      'SELECT application_id FROM events WHERE id = $1',
      [base],
    );
    const handle = await stack.platform.temporal.workflow.start('eventWorkflow', {
      workflowId: eventWorkflowId(windowed),
      taskQueue: stack.config.temporalTaskQueue,
      args: [
        {
          eventId: windowed,
          applicationId: app.rows[0]!.application_id,
          eventType: 'fan.seven',
          window: 3,
        },
      ],
    });
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
});
