import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyStandardWebhook } from '../helpers/verify-webhook.js';
import type { Receiver } from '../helpers/receiver.js';
import {
  api,
  startedWorkflow,
  type TestStack,
  startStackAndReceiver,
  stopStackAndReceiver,
  workflowResult,
} from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

describe('management API on the real stack', () => {
  let stack: TestStack;
  let receiver: Receiver;

  before(async () => ({ stack, receiver } = await startStackAndReceiver()));
  after(() => stopStackAndReceiver(stack, receiver));

  const admin = (method: string, route: string, body?: unknown) =>
    api(stack, method, route, body, { authorization: `Bearer ${stack.config.adminToken}` });
  const as = (key: string) => (method: string, route: string, body?: unknown) =>
    api(stack, method, route, body, { authorization: `Bearer ${key}` });

  it('creates applications and keys with the admin token; a key is shown once and can be revoked', async () => {
    assert.equal(
      (await api(stack, 'GET', '/api/admin/applications')).status,
      401,
      'an API key is not the admin token',
    );
    const app = await admin('POST', '/api/admin/applications', { name: 'tenant' });
    assert.equal(app.status, 201);
    const key = await admin('POST', `/api/admin/applications/${app.body.id}/keys`, { name: 'ci' });
    assert.equal(key.status, 201);
    assert.match(key.body.key, /^hk_/);
    const listed = await admin('GET', `/api/admin/applications/${app.body.id}/keys`);
    assert.equal(listed.body.data.length, 1);
    assert.equal(listed.body.data[0].key, undefined, 'the key is never shown again');
    assert.equal((await as(key.body.key)('GET', '/api/endpoints')).status, 200);
    assert.equal(
      (await admin('DELETE', `/api/admin/applications/${app.body.id}/keys/${key.body.id}`)).status,
      204,
    );
    assert.equal(
      (await as(key.body.key)('GET', '/api/endpoints')).status,
      401,
      'a revoked key stops working',
    );
    assert.equal((await admin('DELETE', `/api/admin/applications/${app.body.id}`)).status, 204);
    assert.equal((await admin('GET', `/api/admin/applications/${app.body.id}/keys`)).status, 404);
  });

  it("isolates applications: A gets 404 for every resource of B, and A's events never reach B", async () => {
    const mk = async (name: string) => {
      const app = await admin('POST', '/api/admin/applications', { name });
      const key = await admin('POST', `/api/admin/applications/${app.body.id}/keys`, {});
      return as(key.body.key);
    };
    const [a, b] = [await mk('A'), await mk('B')];
    const ep = await b('POST', '/api/endpoints', {
      name: 'b',
      url: `${receiver.url}/tenant-b`,
      events: ['*'],
      retryConfig: { maxAttempts: 1 },
    });
    receiver.respond('/tenant-b', 500);
    const ev = await b('POST', '/api/events', { type: 'b.happened', payload: { secret: 'of B' } });
    const deliveryId = `delivery:${ev.body.eventId}:${ep.body.id}`;
    await (await startedWorkflow(stack, deliveryId)).result();
    const dead = (await b('GET', '/api/dead-letters')).body.data[0];
    assert.ok(dead, 'B has a dead letter');

    for (const [method, route] of [
      ['GET', `/api/endpoints/${ep.body.id}`],
      ['PATCH', `/api/endpoints/${ep.body.id}`],
      ['DELETE', `/api/endpoints/${ep.body.id}`],
      ['POST', `/api/endpoints/${ep.body.id}/secret/rotate`],
      ['GET', `/api/endpoints/${ep.body.id}/circuit`],
      ['GET', `/api/endpoints/${ep.body.id}/stats`],
      ['GET', `/api/events/${ev.body.eventId}`],
      ['GET', `/api/deliveries/${deliveryId}/attempts`],
      ['POST', `/api/dead-letters/${dead.id}/replay`],
    ] as const) {
      const r = await a(method, route, method === 'PATCH' ? { name: 'stolen' } : undefined);
      assert.equal(r.status, 404, `${method} ${route} answered ${r.status}`);
    }
    assert.equal((await a('GET', '/api/endpoints')).body.data.length, 0);
    assert.equal((await a('GET', '/api/dead-letters')).body.data.length, 0);
    assert.equal((await b('GET', `/api/endpoints/${ep.body.id}`)).body.name, 'b', 'B still has its endpoint');

    const before = receiver.to('/tenant-b').length;
    const fromA = await a('POST', '/api/events', { type: 'b.happened', payload: {} });
    const fanout = await workflowResult(stack, fromA.body.workflowId);
    assert.equal(fanout.matched, 0);
    assert.equal(receiver.to('/tenant-b').length, before, "A's event never reached B's endpoint");
  });

  it('pages through endpoints with a cursor', async () => {
    const app = await admin('POST', '/api/admin/applications', { name: 'paging' });
    const key = await admin('POST', `/api/admin/applications/${app.body.id}/keys`, {});
    const c = as(key.body.key);
    for (let i = 0; i < 5; i++)
      await c('POST', '/api/endpoints', { name: `e${i}`, url: `${receiver.url}/p`, events: ['*'] });
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof c>> = await c(
        'GET',
        `/api/endpoints?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.ok(page.body.data.length <= 2);
      names.push(...page.body.data.map((e: { name: string }) => e.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.deepEqual(names, ['e0', 'e1', 'e2', 'e3', 'e4']);
    assert.equal((await c('GET', '/api/endpoints?limit=0')).status, 400);
  });

  it('updates only the fields given, and re-enabling clears the reason it was disabled', async () => {
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'patch-me',
      url: `${receiver.url}/patch`,
      events: ['a.b'],
    });
    const patched = await api(stack, 'PATCH', `/api/endpoints/${ep.body.id}`, {
      events: ['a.*'],
      retryConfig: { strategy: 'linear', baseDelay: 2000 },
      enabled: false,
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, 'patch-me');
    assert.deepEqual(patched.body.events, ['a.*']);
    assert.equal(patched.body.retryConfig.strategy, 'linear');
    assert.equal(patched.body.enabled, false);
    const enabled = await api(stack, 'PATCH', `/api/endpoints/${ep.body.id}`, {
      enabled: true,
      retryConfig: null,
    });
    assert.equal(enabled.body.enabled, true);
    assert.equal(enabled.body.disabledReason, null);
    assert.equal(enabled.body.retryConfig.maxAttempts, 8, 'null restores the production default');
    const bad = await api(stack, 'PATCH', `/api/endpoints/${ep.body.id}`, {
      url: 'gopher://x',
      timeout: 5,
      unknown: 1,
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), [
      '(body)',
      'timeout',
      'url',
    ]);
  });

  it('refuses custom headers that would override what Hookline sets, listing each', async () => {
    const r = await api(stack, 'POST', '/api/endpoints', {
      name: 'h',
      url: `${receiver.url}/h`,
      events: ['*'],
      headers: {
        'Content-Type': 'text/plain',
        'webhook-signature': 'x',
        'X-Hookline-Event-Id': 'x',
        'Bad Name': 'x',
        'X-Sig': 'a\r\nb',
      },
      security: { signatureHeader: 'X-Sig' },
      retryConfig: { maxAttempts: 0, strategy: 'custom' },
    });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.errors.map((e: { field: string }) => e.field).sort(), [
      'headers.Bad Name',
      'headers.Content-Type',
      'headers.X-Hookline-Event-Id',
      'headers.X-Sig',
      'headers.X-Sig',
      'headers.webhook-signature',
      'retryConfig.maxAttempts',
      'retryConfig.schedule',
    ]);
  });

  it('signs with the old and the new secret during a rotation grace period', async () => {
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'rot',
      url: `${receiver.url}/rot`,
      events: ['rot.*'],
    });
    const oldSecret = ep.body.security.secret;
    const rotated = await api(stack, 'POST', `/api/endpoints/${ep.body.id}/secret/rotate`, {
      gracePeriod: 3600,
    });
    assert.equal(rotated.status, 200);
    const newSecret = rotated.body.security.secret;
    assert.notEqual(newSecret, oldSecret);
    assert.equal(rotated.body.security.previousSecretsExpireAt.length, 1);
    await api(stack, 'POST', '/api/events', { type: 'rot.x', payload: { n: 1 } });
    const [got] = await receiver.waitFor(1, { path: '/rot' });
    assert.equal(String(got!.headers['webhook-signature']).split(' ').length, 2);
    assert.equal(
      await verifyStandardWebhook(oldSecret, got!.headers, got!.body),
      true,
      'the old key still verifies',
    );
    assert.equal(
      await verifyStandardWebhook(newSecret, got!.headers, got!.body),
      true,
      'the new key verifies',
    );

    await api(stack, 'POST', `/api/endpoints/${ep.body.id}/secret/rotate`, { gracePeriod: 0 });
    await api(stack, 'POST', '/api/events', { type: 'rot.y', payload: { n: 2 } });
    const [, second] = await receiver.waitFor(2, { path: '/rot' });
    assert.equal(
      String(second!.headers['webhook-signature']).split(' ').length,
      1,
      'no grace: only the new key signs',
    );
  });

  it('dead-letters in-flight deliveries of a deleted endpoint at their next attempt and ends its breaker', async () => {
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'doomed',
      url: `${receiver.url}/doomed`,
      events: ['doomed.*'],
      retryConfig: { strategy: 'fixed', baseDelay: 1500, maxAttempts: 5 },
      circuitBreaker: { threshold: 100 },
    });
    receiver.respond('/doomed', 503);
    const ev = await api(stack, 'POST', '/api/events', { type: 'doomed.x', payload: {} });
    await receiver.waitFor(1, { path: '/doomed' });
    const breaker = stack.platform.temporal.workflow.getHandle(`endpoint:${ep.body.id}`);
    await waitUntil(() =>
      breaker.describe().then(
        () => true,
        () => false,
      ),
    );
    assert.equal((await api(stack, 'DELETE', `/api/endpoints/${ep.body.id}`)).status, 204);
    const result = await (await startedWorkflow(stack, `delivery:${ev.body.eventId}:${ep.body.id}`)).result();
    assert.equal(result.status, 'dead_lettered');
    assert.equal(receiver.to('/doomed').length, 1, 'nothing was sent after the delete');
    // The breaker retires in its own workflow tasks and activities, in no order with the delivery's
    // dead letter: wait for it to close, then check how.
    await waitUntil(async () => (await breaker.describe()).status.name !== 'RUNNING', 30_000);
    assert.equal((await breaker.describe()).status.name, 'COMPLETED', 'the breaker was retired');
    assert.equal((await api(stack, 'GET', `/api/endpoints/${ep.body.id}`)).status, 404);
  });

  it('dead-letters in-flight deliveries of a disabled endpoint, replayable once it is enabled again', async () => {
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'paused',
      url: `${receiver.url}/paused`,
      events: ['paused.*'],
      retryConfig: { strategy: 'fixed', baseDelay: 1500, maxAttempts: 5 },
    });
    receiver.respond('/paused', 503);
    const ev = await api(stack, 'POST', '/api/events', { type: 'paused.x', payload: {} });
    await receiver.waitFor(1, { path: '/paused' });
    await api(stack, 'PATCH', `/api/endpoints/${ep.body.id}`, { enabled: false });
    const result = await (await startedWorkflow(stack, `delivery:${ev.body.eventId}:${ep.body.id}`)).result();
    assert.equal(result.status, 'dead_lettered');
    assert.equal(receiver.to('/paused').length, 1, 'nothing was sent while disabled');

    receiver.respond('/paused', 200);
    await api(stack, 'PATCH', `/api/endpoints/${ep.body.id}`, { enabled: true });
    const [dead] = (await api(stack, 'GET', `/api/dead-letters?endpointId=${ep.body.id}`)).body.data;
    const replay = await api(stack, 'POST', `/api/dead-letters/${dead.id}/replay`);
    const replayed = await workflowResult(stack, replay.body.workflowId);
    assert.equal(replayed.status, 'delivered');
    assert.equal(receiver.to('/paused').length, 2);
  });

  it('reports attempt statistics per endpoint', async () => {
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'stats',
      url: `${receiver.url}/stats`,
      events: ['stats.*'],
    });
    const events = await Promise.all(
      [1, 2, 3].map((n) => api(stack, 'POST', '/api/events', { type: 'stats.x', payload: { n } })),
    );
    for (const e of events)
      await (await startedWorkflow(stack, `delivery:${e.body.eventId}:${ep.body.id}`)).result();
    const stats = await api(stack, 'GET', `/api/endpoints/${ep.body.id}/stats`);
    assert.equal(stats.body.total, 3);
    assert.equal(stats.body.successes, 3);
    assert.equal(stats.body.failures, 0);
    assert.ok(stats.body.averageResponseMs >= 0);
    assert.ok(stats.body.lastActivityAt);
  });
});
