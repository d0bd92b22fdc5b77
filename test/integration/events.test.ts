import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Receiver } from '../helpers/receiver.js';
import {
  api,
  workflowResult,
  type TestStack,
  startStackAndReceiver,
  stopStackAndReceiver,
} from '../helpers/stack.js';

describe('events API on the real stack', () => {
  let stack: TestStack;
  let receiver: Receiver;

  before(async () => ({ stack, receiver } = await startStackAndReceiver()));
  after(() => stopStackAndReceiver(stack, receiver));

  const endpoint = async (name: string, extra: Record<string, unknown> = {}) =>
    (
      await api(stack, 'POST', '/api/endpoints', {
        name,
        url: `${receiver.url}/${name}`,
        events: [`${name}.*`],
        ...extra,
      })
    ).body.id as string;

  const finished = (workflowId: string) => workflowResult(stack, workflowId);

  it('ingests a batch item by item: a bad item does not fail the others', async () => {
    await endpoint('batch');
    const r = await api(stack, 'POST', '/api/events/batch', {
      events: [
        { type: 'batch.one', payload: { n: 1 } },
        { type: 'not a type', payload: { n: 2 } },
        { type: 'batch.three', payload: { n: 3 } },
      ],
    });
    assert.equal(r.status, 207);
    assert.equal(r.body.accepted, 2);
    assert.equal(r.body.refused, 1);
    assert.deepEqual(
      r.body.results.map((x: { status: number }) => x.status),
      [202, 400, 202],
    );
    assert.equal(r.body.results[1].errors[0].field, 'type');
    await receiver.waitFor(2, { path: '/batch' });
    const tooMany = await api(stack, 'POST', '/api/events/batch', {
      events: Array.from({ length: 101 }, () => ({ type: 'batch.x', payload: {} })),
    });
    assert.equal(tooMany.status, 400);
  });

  it('is idempotent by key: same request → same event and one delivery; another request → 409', async () => {
    await endpoint('idem');
    const body = { type: 'idem.created', payload: { order: 1 } };
    const first = await api(stack, 'POST', '/api/events', body, { 'Idempotency-Key': 'order-1' });
    const again = await api(stack, 'POST', '/api/events', body, { 'Idempotency-Key': 'order-1' });
    assert.equal(first.status, 202);
    assert.equal(again.status, 200);
    assert.equal(again.body.eventId, first.body.eventId);
    assert.equal(again.body.status, 'duplicate');
    const other = await api(
      stack,
      'POST',
      '/api/events',
      { ...body, payload: { order: 2 } },
      { 'Idempotency-Key': 'order-1' },
    );
    assert.equal(other.status, 409);
    assert.match(other.headers.get('content-type') ?? '', /problem\+json/);
    const viaOption = { ...body, options: { idempotencyKey: 'order-1b' } };
    const a = await api(stack, 'POST', '/api/events', viaOption);
    const b = await api(stack, 'POST', '/api/events', viaOption);
    assert.equal(a.body.eventId, b.body.eventId);
    await finished(first.body.workflowId);
    await finished(a.body.workflowId);
    assert.equal(receiver.to('/idem').length, 2, 'one delivery per event, none for the duplicates');
  });

  it('delays the start durably with options.delay', async () => {
    await endpoint('later');
    const sentAt = Date.now();
    const r = await api(stack, 'POST', '/api/events', {
      type: 'later.x',
      payload: {},
      options: { delay: 2000 },
    });
    assert.equal(r.status, 202);
    const [got] = await receiver.waitFor(1, { path: '/later', timeoutMs: 20_000 });
    assert.ok(got!.at - sentAt >= 2000, `arrived after ${got!.at - sentAt} ms`);
  });

  it('stores tags and lists events by type, tag, status and time, a page at a time', async () => {
    await endpoint('list');
    const from = new Date(Date.now() - 1000).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await api(stack, 'POST', '/api/events', {
        type: 'list.item',
        payload: { i },
        options: { tags: i % 2 ? ['odd'] : ['even'] },
      });
      ids.push(r.body.eventId);
    }
    for (const id of ids) await finished(`event:${id}`);
    const odd = await api(stack, 'GET', '/api/events?type=list.item&tag=odd');
    assert.deepEqual(
      odd.body.data.map((e: { id: string }) => e.id),
      [ids[3], ids[1]],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof api>> = await api(
        stack,
        'GET',
        `/api/events?type=list.item&status=delivered&from=${from}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.data.map((e: { id: string }) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse(), 'newest first, every event once');
    const future = await api(
      stack,
      'GET',
      `/api/events?type=list.item&from=${new Date(Date.now() + 60_000).toISOString()}`,
    );
    assert.equal(future.body.data.length, 0);
    const detail = await api(stack, 'GET', `/api/events/${ids[0]}`);
    assert.deepEqual(detail.body.tags, ['even']);
    assert.match(detail.body.temporalUiUrl, /\/namespaces\/default\/workflows\/event%3Aevt_/);
  });

  it('answers 413 for a payload over the limit and 415 for a body that is not JSON', async () => {
    const big = await api(stack, 'POST', '/api/events', {
      type: 'big.x',
      payload: { blob: 'x'.repeat(300 * 1024) },
    });
    assert.equal(big.status, 413);
    assert.match(big.headers.get('content-type') ?? '', /problem\+json/);
    const text = await fetch(`${stack.platform.apiUrl}/api/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'text/plain' },
      body: 'type=order.created',
    });
    assert.equal(text.status, 415);
  });

  it('replays an event as new runs of its deliveries, with fresh attempts recorded beside the old', async () => {
    const ep = await endpoint('again');
    const sent = await api(stack, 'POST', '/api/events', { type: 'again.x', payload: { v: 1 } });
    await finished(sent.body.workflowId);
    const replay = await api(stack, 'POST', `/api/events/${sent.body.eventId}/replay`);
    assert.equal(replay.status, 202);
    assert.equal(replay.body.replay, 1);
    await receiver.waitFor(2, { path: '/again' });
    await finished(`event:${sent.body.eventId}`);
    const attempts = await api(stack, 'GET', `/api/deliveries/delivery:${sent.body.eventId}:${ep}/attempts`);
    assert.deepEqual(
      attempts.body.data.map((a: { run: number; attempt: number }) => [a.run, a.attempt]),
      [
        [0, 1],
        [1, 1],
      ],
    );
    const event = await api(stack, 'GET', `/api/events/${sent.body.eventId}`);
    assert.equal(event.body.replays, 1);
    assert.equal(event.body.status, 'delivered');
  });

  it("pages an event's deliveries by endpoint", async () => {
    for (const n of [1, 2, 3]) await endpoint(`paged${n}`, { events: ['paged.*'] });
    const sent = await api(stack, 'POST', '/api/events', { type: 'paged.x', payload: {} });
    await finished(sent.body.workflowId);
    const first = await api(stack, 'GET', `/api/events/${sent.body.eventId}/deliveries?limit=2`);
    assert.equal(first.status, 200);
    assert.equal(first.body.data.length, 2);
    assert.ok(first.body.nextCursor);
    const rest = await api(
      stack,
      'GET',
      `/api/events/${sent.body.eventId}/deliveries?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`,
    );
    assert.equal(rest.body.data.length, 1);
    assert.equal(rest.body.nextCursor, null);
    const ids = [...first.body.data, ...rest.body.data].map((d: { id: string }) => d.id);
    assert.equal(new Set(ids).size, 3);
    const event = await api(stack, 'GET', `/api/events/${sent.body.eventId}`);
    assert.equal(event.body.deliveries.length, 3);
    assert.equal(event.body.deliveriesNextCursor, null);
  });

  it('replays dead letters in bulk by endpoint and says how many', async () => {
    const ep = await endpoint('bulk', {
      retryConfig: { maxAttempts: 1 },
      circuitBreaker: { threshold: 100 },
    });
    receiver.respond('/bulk', 500);
    const sent = await Promise.all(
      [1, 2, 3].map((n) => api(stack, 'POST', '/api/events', { type: 'bulk.x', payload: { n } })),
    );
    for (const s of sent) await finished(s.body.workflowId);
    const dead = await api(stack, 'GET', `/api/dead-letters?endpointId=${ep}&replayed=false`);
    assert.equal(dead.body.data.length, 3);
    receiver.respond('/bulk', 200);
    const bulk = await api(stack, 'POST', '/api/dead-letters/replay', {
      endpointId: ep,
      eventType: 'bulk.x',
    });
    assert.equal(bulk.status, 202);
    assert.equal(bulk.body.replayed, 3);
    await receiver.waitFor(6, { path: '/bulk' });
    const again = await api(stack, 'POST', '/api/dead-letters/replay', { endpointId: ep });
    assert.equal(again.body.replayed, 0, 'a dead letter is replayed once');
    const left = await api(stack, 'GET', `/api/dead-letters?endpointId=${ep}&replayed=false`);
    assert.equal(left.body.data.length, 0);
  });
});
