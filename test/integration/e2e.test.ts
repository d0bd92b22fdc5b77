import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { migrate } from '../../src/db/migrate.js';
import { searchAttributes } from '../../workflows/contract.js';
import { verifyBodySignature, verifyStandardWebhook } from '../helpers/verify-webhook.js';
import type { Receiver } from '../helpers/receiver.js';
import {
  api,
  startStack,
  type TestStack,
  startStackAndReceiver,
  stopStackAndReceiver,
  workflowResult,
} from '../helpers/stack.js';

describe('end to end on the real stack (dev server, PostgreSQL, worker, API)', () => {
  let stack: TestStack;
  let receiver: Receiver;

  before(async () => ({ stack, receiver } = await startStackAndReceiver()));
  after(() => stopStackAndReceiver(stack, receiver));

  const endpoint = (name: string, events: string[], extra: Record<string, unknown> = {}) =>
    api(stack, 'POST', '/api/endpoints', { name, url: `${receiver.url}/${name}`, events, ...extra });

  it('delivers an event exactly, signed, to every matching endpoint and to no other', async () => {
    const exact = await endpoint('exact', ['order.created'], {
      headers: { 'X-App-ID': 'shop-1', Authorization: 'Bearer receiver-token' },
      security: { secret: 'webhook-secret-key', signatureHeader: 'X-Signature' },
    });
    const prefix = await endpoint('prefix', ['order.*']);
    const all = await endpoint('all', ['*']);
    const other = await endpoint('other', ['user.*', 'order.updated']);
    for (const r of [exact, prefix, all, other]) assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(exact.body.security.secret, 'webhook-secret-key');
    assert.match(prefix.body.security.secret, /^whsec_/, 'a whsec_ secret is generated when none is given');

    const payload = {
      order: { id: 'ORD-12345', amount: 299.99, items: [{ sku: 'P-1', qty: 2 }] },
      note: 'café ✓',
    };
    const sent = await api(stack, 'POST', '/api/events', { type: 'order.created', source: 'shop', payload });
    assert.equal(sent.status, 202);
    assert.match(sent.body.eventId, /^evt_/);
    assert.equal(sent.body.workflowId, `event:${sent.body.eventId}`);

    const secrets: Record<string, string> = {
      exact: 'webhook-secret-key',
      prefix: prefix.body.security.secret,
      all: all.body.security.secret,
    };
    for (const name of ['exact', 'prefix', 'all']) {
      const [got] = await receiver.waitFor(1, { path: `/${name}` });
      assert.ok(got);
      assert.deepEqual(JSON.parse(got.body), payload, `${name} got exactly the payload`);
      assert.equal(got.headers['content-type'], 'application/json');
      assert.match(String(got.headers['user-agent']), /^Hookline\//);
      assert.equal(got.headers['x-hookline-event-type'], 'order.created');
      assert.equal(got.headers['x-hookline-event-id'], sent.body.eventId);
      assert.equal(
        await verifyStandardWebhook(secrets[name]!, got.headers, got.body),
        true,
        `${name}: webhook-signature`,
      );
      const bodySig = got.headers[name === 'exact' ? 'x-signature' : 'x-hookline-signature'];
      assert.equal(
        await verifyBodySignature(secrets[name]!, String(bodySig), got.body),
        true,
        `${name}: body signature`,
      );
    }
    const [exactReq] = receiver.to('/exact');
    assert.equal(exactReq!.headers['x-app-id'], 'shop-1', 'custom headers are sent');
    assert.equal(exactReq!.headers.authorization, 'Bearer receiver-token');

    // The event's record shows three delivered deliveries once its workflow is done.
    const fanout = await workflowResult(stack, sent.body.workflowId);
    assert.equal(fanout.matched, 3);
    assert.equal(fanout.delivered, 3);
    const event = await api(stack, 'GET', `/api/events/${sent.body.eventId}`);
    assert.equal(event.status, 200);
    assert.equal(event.body.status, 'delivered');
    assert.deepEqual(
      event.body.deliveries
        .map((d: { endpointId: string; status: string }) => [d.endpointId, d.status])
        .sort(),
      [exact.body.id, prefix.body.id, all.body.id].sort().map((id) => [id, 'delivered']),
    );
    const child = stack.platform.temporal.workflow.getHandle(
      `delivery:${sent.body.eventId}:${exact.body.id}`,
    );
    // The delivery records its outcome just before its workflow closes: wait for the close.
    await child.result();
    const described = await child.describe();
    assert.equal(described.status.name, 'COMPLETED', 'child workflow ids follow DESIGN.md');
    const attrs = described.typedSearchAttributes;
    assert.equal(attrs.get(searchAttributes.eventId), sent.body.eventId);
    assert.equal(attrs.get(searchAttributes.endpointId), exact.body.id);
    assert.equal(attrs.get(searchAttributes.deliveryStatus), 'delivered');
    assert.equal(attrs.get(searchAttributes.attempts), 1);

    assert.equal(receiver.to('/other').length, 0, 'the non-matching endpoint got nothing');
  });

  it("takes the guide's own requests unchanged and applies its amount filter", async () => {
    // The guide's curl, verbatim except for the receiver URL.
    const registered = await api(stack, 'POST', '/api/endpoints', {
      name: 'Order Processing Webhook',
      url: `${receiver.url}/webhooks/orders`,
      events: ['order.created', 'order.updated', 'order.cancelled'],
      headers: { Authorization: 'Bearer your-app-token', 'X-App-ID': 'your-app-id' },
      retryConfig: { maxAttempts: 5, strategy: 'exponential', baseDelay: 1000, maxDelay: 30000 },
      security: { secret: 'webhook-secret-key', signatureHeader: 'X-Signature' },
      filters: { conditions: [{ field: 'payload.order.amount', operator: 'gt', value: 100 }] },
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    // The guide's fetch body, verbatim.
    const guideEvent = (amount: number) => ({
      type: 'order.created',
      source: 'ecommerce-app',
      payload: {
        order: {
          id: 'ORD-12345',
          customerId: 'CUST-67890',
          amount,
          currency: 'USD',
          items: [{ productId: 'PROD-111', quantity: 2, price: 149.99 }],
          shippingAddress: { street: '123 Main St', city: 'Seoul', country: 'KR' },
        },
        timestamp: new Date().toISOString(),
        metadata: { userId: 'USER-456', sessionId: 'SESS-789' },
      },
      options: { priority: 'high', delay: 0, tags: ['urgent', 'payment-processed'] },
    });
    const small = await api(stack, 'POST', '/api/events', guideEvent(50));
    const big = await api(stack, 'POST', '/api/events', guideEvent(299.99));
    assert.equal(small.status, 202);
    assert.equal(big.status, 202);
    const [got] = await receiver.waitFor(1, { path: '/webhooks/orders' });
    assert.equal(got!.headers['x-hookline-event-id'], big.body.eventId);
    assert.equal(JSON.parse(got!.body).order.amount, 299.99);
    assert.equal(
      await verifyBodySignature('webhook-secret-key', String(got!.headers['x-signature']), got!.body),
      true,
    );
    await workflowResult(stack, small.body.workflowId);
    assert.equal(receiver.to('/webhooks/orders').length, 1, 'the 50.00 order did not pass the filter');
  });

  it('refuses an endpoint whose filter cannot be evaluated safely, listing each problem', async () => {
    const r = await api(stack, 'POST', '/api/endpoints', {
      name: 'bad filter',
      url: `${receiver.url}/never`,
      events: ['*'],
      filters: {
        logic: 'XOR',
        conditions: [
          { field: 'payload.id', operator: 'regex', value: '(a)\\1' },
          { field: 'payload.id', operator: 'like', value: 'x' },
          { field: 'payload.tier', operator: 'in', value: 'gold' },
        ],
      },
    });
    assert.equal(r.status, 400);
    const fields = r.body.errors.map((e: { field: string }) => e.field).sort();
    assert.deepEqual(fields, [
      'filters.conditions.0.value',
      'filters.conditions.1.operator',
      'filters.conditions.2.value',
      'filters.logic',
    ]);
  });

  it('publishes OpenAPI 3.1 made from the validating schemas, listing exactly the live routes', async () => {
    const res = await fetch(`${stack.platform.apiUrl}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as any;
    assert.equal(doc.openapi, '3.1.0');
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    assert.deepEqual(routes, [
      'DELETE /api/admin/applications/{id}',
      'DELETE /api/admin/applications/{id}/keys/{keyId}',
      'DELETE /api/endpoints/{id}',
      'GET /api/admin/applications',
      'GET /api/admin/applications/{id}/keys',
      'GET /api/dead-letters',
      'GET /api/deliveries/{id}/attempts',
      'GET /api/endpoints',
      'GET /api/endpoints/{id}',
      'GET /api/endpoints/{id}/circuit',
      'GET /api/endpoints/{id}/stats',
      'GET /api/events',
      'GET /api/events/{id}',
      'GET /api/events/{id}/deliveries',
      'GET /api/metrics/stream',
      'GET /api/stats',
      'PATCH /api/admin/applications/{id}',
      'PATCH /api/endpoints/{id}',
      'POST /api/admin/applications',
      'POST /api/admin/applications/{id}/keys',
      'POST /api/dead-letters/replay',
      'POST /api/dead-letters/{id}/replay',
      'POST /api/endpoints',
      'POST /api/endpoints/{id}/secret/rotate',
      'POST /api/events',
      'POST /api/events/batch',
      'POST /api/events/{id}/replay',
    ]);
    // The body schema is the one that validates: what it requires is what a request must send.
    const createEndpoint = doc.paths['/api/endpoints'].post.requestBody.content['application/json'].schema;
    assert.deepEqual([...createEndpoint.required].sort(), ['events', 'name', 'url']);
    assert.deepEqual(createEndpoint.properties.retryConfig.properties.strategy.enum, [
      'exponential',
      'linear',
      'fixed',
      'custom',
    ]);
    const missing = await api(stack, 'POST', '/api/endpoints', {});
    assert.deepEqual(missing.body.errors.map((e: { field: string }) => e.field).sort(), [
      'events',
      'name',
      'url',
    ]);
    const listEvents = doc.paths['/api/events'].get.parameters.map((p: { name: string }) => p.name).sort();
    assert.deepEqual(listEvents, ['cursor', 'from', 'limit', 'status', 'tag', 'to', 'type']);

    // Every documented route is served (it may answer 400, 404 for the made-up id, … but not "no such route").
    for (const route of routes) {
      const [method, path] = route.split(' ') as [string, string];
      if (route === 'GET /api/metrics/stream') {
        const abort = new AbortController();
        const stream = await fetch(`${stack.platform.apiUrl}${path}`, {
          headers: { authorization: `Bearer ${stack.apiKey}` },
          signal: abort.signal,
        });
        assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
        abort.abort();
        continue;
      }
      const url = path.replace(/\{[^}]+\}/g, 'nope');
      const auth = path.startsWith('/api/admin') ? stack.config.adminToken! : stack.apiKey;
      const r = await api(stack, method, url, method === 'GET' || method === 'DELETE' ? undefined : {}, {
        authorization: `Bearer ${auth}`,
      });
      assert.notEqual(r.body?.detail, 'no such route', `${route} is documented but not served`);
    }
    const undocumented = await api(stack, 'GET', '/api/nothing-here');
    assert.equal(undocumented.body.detail, 'no such route');
  });

  it('answers 401 without a key or with a wrong one', async () => {
    const none = await api(stack, 'POST', '/api/events', { type: 'a.b', payload: {} }, { authorization: '' });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('content-type') ?? '', /application\/problem\+json/);
    const wrong = await api(stack, 'GET', '/api/endpoints', undefined, { authorization: 'Bearer hk_wrong' });
    assert.equal(wrong.status, 401);
  });

  it('keeps idle connections longer than a load balancer does (its keep-alive is announced)', async () => {
    const res = await fetch(`${stack.platform.apiUrl}/health`);
    await res.arrayBuffer();
    assert.equal(res.headers.get('keep-alive'), 'timeout=65');
  });

  it('answers 400 problem+json naming each problem of a bad request', async () => {
    const malformed = await api(stack, 'POST', '/api/events', '{"type": "order.created",');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.title, 'Malformed JSON');

    const event = await api(stack, 'POST', '/api/events', { source: 'shop' });
    assert.equal(event.status, 400);
    assert.match(event.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.deepEqual(event.body.errors.map((e: { field: string }) => e.field).sort(), ['payload', 'type']);

    const ep = await api(stack, 'POST', '/api/endpoints', { name: 'x', url: 'ftp://example.com/hook' });
    assert.equal(ep.status, 400);
    assert.deepEqual(ep.body.errors.map((e: { field: string }) => e.field).sort(), ['events', 'url']);

    const noUrl = await api(stack, 'POST', '/api/endpoints', { name: 'x', events: ['*'] });
    assert.deepEqual(
      noUrl.body.errors.map((e: { field: string }) => e.field),
      ['url'],
    );
  });

  it('runs the schema migrations a second time without change', async () => {
    assert.deepEqual(await migrate(stack.platform.db), []);
  });

  it('finds the same endpoints and events after a restart on the same data', async () => {
    const before = await api(stack, 'GET', '/api/endpoints');
    const sent = await api(stack, 'POST', '/api/events', { type: 'user.created', payload: { id: 1 } });
    await workflowResult(stack, sent.body.workflowId);
    await stack.stop({ keepData: true });
    stack = await startStack({ dataDir: stack.dataDir, apiKey: stack.apiKey });
    const after = await api(stack, 'GET', '/api/endpoints');
    assert.deepEqual(after.body, before.body);
    const event = await api(stack, 'GET', `/api/events/${sent.body.eventId}`);
    assert.equal(event.status, 200);
    assert.equal(event.body.deliveries[0].status, 'delivered');
    const described = await stack.platform.temporal.workflow.getHandle(sent.body.workflowId).describe();
    assert.equal(described.status.name, 'COMPLETED', 'Temporal kept the workflow history in its SQLite file');
  });
});
