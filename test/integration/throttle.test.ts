// Per-endpoint throttling (issue #15) on the real stack: an endpoint's rateLimit holds across the
// fan-out, its waits are durable timers that spend no attempt, another endpoint is not slowed, and
// the setting is validated and changed through the API.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { HooklineClient } from '../../sdk/src/client.js';
import type { Receiver, Received } from '../helpers/receiver.js';
import {
  api,
  startStackAndReceiver,
  stopStackAndReceiver,
  workflowResult,
  type TestStack,
} from '../helpers/stack.js';

/** The most arrivals in any window [t, t + ms). */
function busiestWindow(arrivals: Received[], ms: number): number {
  const at = arrivals.map((r) => r.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < at.length; j++) {
    while (at[j]! - at[i]! >= ms) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

const span = (arrivals: Received[]) => arrivals[arrivals.length - 1]!.at - arrivals[0]!.at;

describe('per-endpoint throttling on the real stack', () => {
  let stack: TestStack;
  let receiver: Receiver;

  before(async () => ({ stack, receiver } = await startStackAndReceiver()));
  after(() => stopStackAndReceiver(stack, receiver));

  async function endpoint(name: string, events: string[], extra: Record<string, unknown> = {}) {
    const r = await api(stack, 'POST', '/api/endpoints', {
      name,
      url: `${receiver.url}/${name}`,
      events,
      ...extra,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { id: string; rateLimit: { perSecond: number; burst: number } | null };
  }

  /** `n` events of `type`, in batches of 100; their ids. */
  async function sendMany(type: string, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let sent = 0; sent < n; sent += 100) {
      const size = Math.min(100, n - sent);
      const r = await api(stack, 'POST', '/api/events/batch', {
        events: Array.from({ length: size }, (_, i) => ({ type, payload: { i: sent + i } })),
      });
      assert.equal(r.status, 207, JSON.stringify(r.body));
      assert.equal(r.body.accepted, size);
      for (const item of r.body.results as Array<{ eventId: string }>) ids.push(item.eventId);
    }
    return ids;
  }

  it('delivers 300 events to an endpoint limited to 10/s within its rate, while an unthrottled one is not slowed', async () => {
    const limit = { perSecond: 10, burst: 5 };
    const slow = await endpoint('slow', ['load.*'], { rateLimit: limit });
    assert.deepEqual(slow.rateLimit, limit);
    const fast = await endpoint('fast', ['load.*']);
    assert.equal(fast.rateLimit, null, 'absent: unthrottled');

    // The same 300 events reach both endpoints: each event fans out to a throttled and an unthrottled delivery.
    const eventIds = await sendMany('load.x', 300);
    const fastArrivals = await receiver.waitFor(300, { path: '/fast', timeoutMs: 120_000 });
    // While the throttled endpoint is still working through its schedule, its deliveries show it.
    const stats = await api(stack, 'GET', '/api/stats');
    assert.ok(stats.body.queues.throttled > 0, `queues: ${JSON.stringify(stats.body.queues)}`);
    const slowArrivals = await receiver.waitFor(300, { path: '/slow', timeoutMs: 180_000 });

    for (const arrivals of [slowArrivals, fastArrivals]) {
      const ids = new Set(arrivals.map((r) => r.headers['webhook-id']));
      assert.equal(ids.size, 300, 'every event arrived, each webhook-id once');
    }
    // Never more than perSecond + burst in any second; and the schedule really spaced them:
    // 295 sends after the burst at 10/s take at least 29.5 s.
    const busiest = busiestWindow(slowArrivals, 1000);
    assert.ok(busiest <= limit.perSecond + limit.burst, `${busiest} arrivals in one second`);
    assert.ok(span(slowArrivals) >= 29_000, `the throttled endpoint took ${span(slowArrivals)} ms`);
    // The unthrottled endpoint never waited for a slot (its deliveries have no timer, the
    // throttled ones do), and it was done no later than the throttled one.
    const timersOf = async (endpointId: string) => {
      let timers = 0;
      for (const eventId of eventIds.filter((_, i) => i % 10 === 9)) {
        const h = await stack.platform.temporal.workflow
          .getHandle(`delivery:${eventId}:${endpointId}`)
          .fetchHistory();
        timers += (h.events ?? []).filter((e) => e.timerStartedEventAttributes).length;
      }
      return timers;
    };
    assert.equal(await timersOf(fast.id), 0, 'the unthrottled deliveries never waited');
    assert.ok((await timersOf(slow.id)) > 0, 'the throttled ones did');
    assert.ok(fastArrivals[299]!.at <= slowArrivals[299]!.at);

    // Waiting spent no attempt: one attempt per delivery, and the late ones waited on a timer.
    const { rows } = await stack.platform.db.query<{ attempts: number; n: string }>(
      `SELECT d.attempts, count(*) AS n FROM deliveries d WHERE d.endpoint_id = $1 GROUP BY d.attempts`,
      [slow.id],
    );
    assert.deepEqual(
      rows.map((r) => [r.attempts, Number(r.n)]),
      [[1, 300]],
    );
    const attempts = await stack.platform.db.query(
      `SELECT 1 FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1`,
      [slow.id],
    );
    assert.equal(attempts.rowCount, 300, 'no attempt was recorded for a wait');
    const last = `delivery:${eventIds[eventIds.length - 1]}:${slow.id}`;
    const progress = await workflowResult(stack, last);
    assert.equal(progress.status, 'delivered');
    assert.equal(progress.attempts, 1);
    const history = await stack.platform.temporal.workflow.getHandle(last).fetchHistory();
    const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes).length;
    assert.ok(timers >= 1, 'it waited for its slot on a durable timer');
  });

  it("holds a throttled endpoint's deliveries back without holding up another endpoint's", async () => {
    // 40 deliveries at 1/s need 39 s; meanwhile 100 events to an unthrottled endpoint.
    const crawl = await endpoint('crawl', ['crawl.*'], { rateLimit: { perSecond: 1, burst: 1 } });
    await endpoint('busy', ['busy.*']);
    await sendMany('crawl.x', 40);
    const started = Date.now();
    await sendMany('busy.x', 100);
    const busy = await receiver.waitFor(100, { path: '/busy', timeoutMs: 120_000 });
    const elapsed = busy[99]!.at - started;
    const crawled = receiver.to('/crawl').length;
    // Held to 1/s, the 100 would have needed 99 s; the crawling endpoint kept its own pace.
    assert.ok(elapsed < 39_000, `the unthrottled endpoint took ${elapsed} ms for 100`);
    assert.ok(crawled <= Math.ceil(elapsed / 1000) + 2, `${crawled} throttled arrivals in ${elapsed} ms`);
    assert.ok(crawled < 40, 'the throttled endpoint was still working through its schedule');
    await api(stack, 'DELETE', `/api/endpoints/${crawl.id}`); // its waiting deliveries end when they wake
  });

  it('follows a rateLimit set and cleared through the API', async () => {
    const ep = await endpoint('changing', ['change.*']);
    const set = await api(stack, 'PATCH', `/api/endpoints/${ep.id}`, { rateLimit: { perSecond: 2 } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.rateLimit, { perSecond: 2, burst: 1 }, 'the burst defaults to 1');
    assert.deepEqual((await api(stack, 'GET', `/api/endpoints/${ep.id}`)).body.rateLimit, {
      perSecond: 2,
      burst: 1,
    });
    await sendMany('change.limited', 6);
    const limited = await receiver.waitFor(6, { path: '/changing', timeoutMs: 60_000 });
    // Six sends at 2/s, one at once: the sixth 2.5 s after the first.
    assert.ok(span(limited) >= 2_400, `6 arrivals in ${span(limited)} ms`);

    const cleared = await api(stack, 'PATCH', `/api/endpoints/${ep.id}`, { rateLimit: null });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.rateLimit, null);
    receiver.received.length = 0;
    await sendMany('change.free', 20);
    const free = await receiver.waitFor(20, { path: '/changing', timeoutMs: 60_000 });
    // Held to 2/s these would take 9.5 s.
    assert.ok(span(free) < 6_000, `20 arrivals in ${span(free)} ms`);
  });

  it('sets and clears a rateLimit from the SDK and the CLI', async () => {
    const sdk = new HooklineClient({ apiUrl: stack.platform.apiUrl!, apiToken: stack.apiKey });
    const made = await sdk.endpoints.create({
      name: 'sdk',
      url: `${receiver.url}/sdk`,
      events: ['sdk.*'],
      rateLimit: { perSecond: 0.5, burst: 3 },
    });
    assert.deepEqual(made.rateLimit, { perSecond: 0.5, burst: 3 });
    assert.equal((await sdk.endpoints.update(made.id, { rateLimit: null })).rateLimit, null);

    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, [path.resolve('sdk', 'dist', 'cli.js'), ...args, '--json'], {
        env: { ...process.env, HOOKLINE_API_URL: stack.platform.apiUrl!, HOOKLINE_API_KEY: stack.apiKey },
      }).then((r) => JSON.parse(r.stdout));
    const created = await cli(
      'endpoints',
      'create',
      '--name',
      'cli',
      '--url',
      `${receiver.url}/cli`,
      '--events',
      'cli.*',
      '--rate-limit',
      '10:5',
    );
    assert.deepEqual(created.rateLimit, { perSecond: 10, burst: 5 });
    assert.deepEqual((await cli('endpoints', 'update', created.id, '--rate-limit', '2')).rateLimit, {
      perSecond: 2,
      burst: 1,
    });
    assert.equal((await cli('endpoints', 'update', created.id, '--rate-limit', 'off')).rateLimit, null);
  });

  it('refuses a bad rateLimit, listing every problem', async () => {
    const bad = await api(stack, 'POST', '/api/endpoints', {
      name: 'bad',
      url: `${receiver.url}/bad`,
      events: ['*'],
      rateLimit: { perSecond: 0, burst: 0.5 },
    });
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /application\/problem\+json/);
    const fields = (bad.body.errors as Array<{ field: string }>).map((e) => e.field).sort();
    assert.deepEqual(fields, ['rateLimit.burst', 'rateLimit.perSecond']);

    const ep = await endpoint('patched', ['patched.*']);
    const patch = await api(stack, 'PATCH', `/api/endpoints/${ep.id}`, {
      rateLimit: { perSecond: 20_000, burst: 10_001, window: 1 },
      timeout: 1,
    });
    assert.equal(patch.status, 400);
    const problems = (patch.body.errors as Array<{ field: string; message: string }>).map((e) => e.field);
    for (const field of ['rateLimit', 'rateLimit.perSecond', 'rateLimit.burst', 'timeout']) {
      assert.ok(problems.includes(field), `${field} in ${JSON.stringify(patch.body.errors)}`);
    }
    const missing = await api(stack, 'PATCH', `/api/endpoints/${ep.id}`, { rateLimit: { burst: 3 } });
    assert.equal(missing.status, 400);
    assert.deepEqual(
      (missing.body.errors as Array<{ field: string }>).map((e) => e.field),
      ['rateLimit.perSecond'],
    );
    assert.equal((await api(stack, 'GET', `/api/endpoints/${ep.id}`)).body.rateLimit, null, 'unchanged');
  });
});
