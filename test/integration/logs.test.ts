import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { api, startStack, type TestStack, workflowResult } from '../helpers/stack.js';

describe('structured logs of a full run', () => {
  const logs: string[] = [];
  let stack: TestStack;
  let receiver: Receiver;
  const secrets: string[] = [];

  before(async () => {
    receiver = await startReceiver();
    stack = await startStack({ logs });
    secrets.push(stack.apiKey, stack.config.adminToken!);

    // A run that touches every credential: endpoint secrets, custom auth headers, rotation,
    // admin-made keys, idempotency, retries and a dead letter.
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'logged',
      url: `${receiver.url}/logged`,
      events: ['log.*'],
      headers: { Authorization: 'Bearer receiver-token-4f1c9a' },
      security: { secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', signatureHeader: 'X-Signature' },
      retryConfig: { strategy: 'fixed', baseDelay: 200, maxAttempts: 2 },
    });
    secrets.push(ep.body.security.secret, 'receiver-token-4f1c9a');
    const rotated = await api(stack, 'POST', `/api/endpoints/${ep.body.id}/secret/rotate`, {});
    secrets.push(rotated.body.security.secret);
    const app = await api(
      stack,
      'POST',
      '/api/admin/applications',
      { name: 'x' },
      {
        authorization: `Bearer ${stack.config.adminToken}`,
      },
    );
    const key = await api(
      stack,
      'POST',
      `/api/admin/applications/${app.body.id}/keys`,
      {},
      {
        authorization: `Bearer ${stack.config.adminToken}`,
      },
    );
    secrets.push(key.body.key);
    await api(stack, 'GET', '/api/endpoints', undefined, {
      authorization: 'Bearer hk_not-a-real-key-but-secret',
    });
    secrets.push('hk_not-a-real-key-but-secret');

    await api(
      stack,
      'POST',
      '/api/events',
      { type: 'log.ok', payload: { n: 1 } },
      { 'Idempotency-Key': 'idem-7' },
    );
    await receiver.waitFor(1, { path: '/logged' });
    receiver.respond('/logged', 500);
    const failing = await api(stack, 'POST', '/api/events', { type: 'log.fail', payload: { n: 2 } });
    await receiver.waitFor(3, { path: '/logged' });
    await workflowResult(stack, failing.body.workflowId);
    for (const r of receiver.to('/logged')) {
      secrets.push(...String(r.headers['webhook-signature']).split(' '), String(r.headers['x-signature']));
    }
  });

  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  it('writes JSON lines', () => {
    assert.ok(logs.length > 10);
    for (const line of logs) assert.doesNotThrow(() => JSON.parse(line), line);
  });

  it('logs every request with its request id, and every attempt with its workflow id', () => {
    const entries = logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = entries.filter((e) => e.msg === 'request');
    assert.ok(
      requests.length >= 7,
      `${requests.length} request lines: ${[...new Set(entries.map((e) => e.msg))].join(', ')}`,
    );
    for (const r of requests) assert.match(String(r.requestId), /^[\w.:-]+$/);
    const attempts = entries.filter((e) => e.msg === 'delivery attempt');
    assert.equal(attempts.length, 3);
    for (const a of attempts) assert.match(String(a.workflowId), /^delivery:evt_/);
  });

  it('never writes a secret, API key, admin token, custom auth header or signature', () => {
    const all = logs.join('\n');
    assert.ok(secrets.length >= 10);
    for (const s of secrets) {
      assert.ok(s.length >= 10, `a real credential: ${s.length}`);
      assert.equal(all.includes(s), false, `a log line contains a credential (${s.slice(0, 4)}…)`);
    }
  });
});
