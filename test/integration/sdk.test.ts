// The client SDK and the receiver middleware against the real stack.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { HooklineClient, HooklineError } from '../../sdk/src/index.js';
import { webhookMiddleware } from '../../sdk/src/verify.js';
import type { Receiver } from '../helpers/receiver.js';
import { startStack, startStackAndReceiver, stopStackAndReceiver, type TestStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

describe('client SDK on the real stack', () => {
  let stack: TestStack;
  let receiver: Receiver;
  let client: HooklineClient;

  before(async () => {
    ({ stack, receiver } = await startStackAndReceiver());
    client = new HooklineClient({ apiUrl: stack.platform.apiUrl!, apiToken: stack.apiKey });
  });
  after(() => stopStackAndReceiver(stack, receiver));

  it('manages endpoints and raises typed errors carrying every field problem', async () => {
    const ep = await client.endpoints.create({
      name: 'Shop',
      url: `${receiver.url}/shop`,
      events: ['order.*'],
    });
    assert.match(ep.security.secret!, /^whsec_/);
    assert.equal((await client.endpoints.get(ep.id)).name, 'Shop');
    assert.equal((await client.endpoints.update(ep.id, { name: 'Shop 2' })).name, 'Shop 2');
    assert.ok((await client.endpoints.list()).data.some((e) => e.id === ep.id));
    const rotated = await client.endpoints.rotateSecret(ep.id, 60);
    assert.notEqual(rotated.security.secret, ep.security.secret);

    const err = await client.endpoints
      .create({ name: '', url: 'ftp://x', events: [] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof HooklineError);
    assert.equal(err.status, 400);
    assert.deepEqual(err.errors.map((e) => e.field).sort(), ['events', 'name', 'url']);

    const missing = await client.endpoints.get('ep_nope').catch((e: unknown) => e);
    assert.ok(missing instanceof HooklineError && missing.status === 404);
    await client.endpoints.delete(ep.id);
  });

  it('sends an event once per idempotency key, including the key it generates for its own retries', async () => {
    await client.endpoints.create({ name: 'Orders', url: `${receiver.url}/orders`, events: ['order.*'] });
    const first = await client.sendEvent(
      { type: 'order.created', payload: { n: 1 } },
      { idempotencyKey: 'k-1' },
    );
    const again = await client.sendEvent(
      { type: 'order.created', payload: { n: 1 } },
      { idempotencyKey: 'k-1' },
    );
    assert.equal(again.eventId, first.eventId);
    assert.equal(again.status, 'duplicate');
    const other = await client.sendEvent({ type: 'order.created', payload: { n: 1 } });
    assert.notEqual(other.eventId, first.eventId, 'a generated key is new per call');
    await receiver.waitFor(2, { path: '/orders' });

    const event = await client.events.get(first.eventId);
    assert.equal(event.type, 'order.created');
    await waitUntil(
      async () => (await client.events.get(first.eventId)).deliveries[0]?.status === 'delivered',
    );
    const delivery = (await client.events.get(first.eventId)).deliveries[0]!;
    const attempts = await client.deliveries.attempts(delivery.id);
    assert.equal(attempts.data[0]!.statusCode, 200);
    assert.ok((await client.events.list({ type: 'order.created' })).data.some((e) => e.id === first.eventId));
  });

  it('splits sendEvents into batches of 100 and keeps every item index', async () => {
    const events = Array.from({ length: 230 }, (_, i) =>
      i === 150 ? { type: '', payload: {} } : { type: 'bulk.item', payload: { i } },
    );
    const r = await client.sendEvents(events);
    assert.equal(r.accepted, 229);
    assert.equal(r.refused, 1);
    assert.deepEqual(
      r.results.map((x) => x.index),
      events.map((_, i) => i),
    );
    assert.equal(r.results[150]!.status, 400);
  });

  it('sends conditionally with sendEventIf, in the guide’s form and with a separate condition', async () => {
    const big = await client.sendEventIf({
      type: 'order.high_value',
      payload: { order: { amount: 5000 } },
      condition: (p) => p.order.amount > 1000,
    });
    assert.ok(big?.eventId);
    const small = await client.sendEventIf(
      { type: 'order.high_value', payload: { order: { amount: 10 } } },
      (p) => p.order.amount > 1000,
    );
    assert.equal(small, null);
  });

  it('replays a dead letter', async () => {
    const ep = await client.endpoints.create({
      name: 'Down',
      url: `${receiver.url}/down`,
      events: ['down.*'],
      retryConfig: { maxAttempts: 1 },
    });
    receiver.respond('/down', 500);
    const sent = await client.sendEvent({ type: 'down.x', payload: {} });
    await waitUntil(async () => (await client.deadLetters.list({ endpointId: ep.id })).data.length === 1);
    receiver.respond('/down', 200);
    const [dead] = (await client.deadLetters.list({ endpointId: ep.id })).data;
    await client.deadLetters.replay(dead!.id);
    await waitUntil(
      async () => (await client.events.get(sent.eventId)).deliveries[0]?.status === 'delivered',
    );
  });

  it('verifies real deliveries in an Express receiver with webhookMiddleware', async () => {
    const got: unknown[] = [];
    const app = express();
    let secret = '';
    app.post(
      '/hook',
      (req, res, next) => webhookMiddleware(secret)(req as never, res as never, next),
      (req, res) => {
        got.push((req as unknown as { webhook: unknown }).webhook);
        res.sendStatus(204);
      },
    );
    const server: Server = await new Promise((resolve) => {
      const s = createServer(app).listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const ep = await client.endpoints.create({ name: 'Express', url, events: ['express.*'] });
      secret = ep.security.secret!;
      await client.sendEvent({ type: 'express.ok', payload: { hello: 'world' } });
      await waitUntil(async () => got.length === 1);
      assert.deepEqual(got[0], { hello: 'world' });

      secret = 'whsec_' + Buffer.alloc(24, 1).toString('base64'); // the wrong secret: 401, retried
      const refused = await client.sendEvent({ type: 'express.bad', payload: { no: 1 } });
      await waitUntil(async () => {
        const d = (await client.events.get(refused.eventId)).deliveries[0];
        return d !== undefined && d.lastStatusCode === 401;
      });
      assert.equal(got.length, 1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('client SDK retries', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startStack({ env: { HOOKLINE_RATE_LIMIT: '1' } });
  });
  after(() => stack.stop());

  it('retries 429 answers after their Retry-After and then succeeds', async () => {
    const client = new HooklineClient({
      apiUrl: stack.platform.apiUrl!,
      apiToken: stack.apiKey,
      maxRetries: 5,
    });
    const started = Date.now();
    // A burst of 1/s with bursts of 2: the later calls are answered 429 first.
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) => client.sendEvent({ type: 'limited.x', payload: { i } })),
    );
    assert.equal(new Set(results.map((r) => r.eventId)).size, 4);
    assert.ok(Date.now() - started >= 900, 'some calls waited for Retry-After');

    const impatient = new HooklineClient({
      apiUrl: stack.platform.apiUrl!,
      apiToken: stack.apiKey,
      maxRetries: 0,
    });
    const burst = await Promise.allSettled(Array.from({ length: 4 }, () => impatient.events.list()));
    const refused = burst
      .filter((r) => r.status === 'rejected')
      .map((r) => (r as PromiseRejectedResult).reason);
    assert.ok(refused.length > 0 && refused.every((e) => e instanceof HooklineError && e.status === 429));
  });
});
