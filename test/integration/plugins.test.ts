// Plugins on the real stack: the built-in e-mail alerts (to a real SMTP server started here), the
// operational webhook (signed, verified with the SDK), and a custom plugin whose hook throws
// (the delivery goes on) and whose ingest middleware enriches or rejects events.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { verifyWebhook } from '../../sdk/src/verify.js';
import { generateSecret } from '../../src/domain/signing.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { api, startStack, type TestStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

interface Mail {
  to: string;
  subject: string;
  text: string;
}

const CUSTOM_PLUGIN = `
export default ({ env }) => ({
  name: 'test-plugin',
  version: '0.0.1',
  hooks: {
    'webhook:delivered': () => { throw new Error('a plugin bug'); },
  },
  ingest: (event) =>
    event.type === 'blocked.x'
      ? { reject: 'blocked type' }
      : { ...event, payload: { ...event.payload, enrichedBy: env.TEST_PLUGIN_TAG } },
});
`;

describe('plugins on the real stack', () => {
  let stack: TestStack;
  let receiver: Receiver;
  let smtp: SMTPServer;
  let dir: string;
  const mails: Mail[] = [];
  const opsSecret = generateSecret();

  before(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      onData(stream, session, callback) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        stream.on('end', () => {
          const [head = '', ...rest] = raw.split('\r\n\r\n');
          const subject = /^Subject: (.*)$/m.exec(head)?.[1] ?? '';
          mails.push({
            to: session.envelope.rcptTo.map((r) => r.address).join(','),
            subject,
            text: rest.join('\r\n\r\n').replace(/=\r\n/g, ''),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    receiver = await startReceiver();
    dir = await mkdtemp(path.join(tmpdir(), 'hookline-plugin-'));
    const custom = path.join(dir, 'test-plugin.mjs');
    await writeFile(custom, CUSTOM_PLUGIN);
    stack = await startStack({
      env: {
        HOOKLINE_PLUGINS: `email,operational-webhook,${custom}`,
        HOOKLINE_ALERT_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        HOOKLINE_ALERT_EMAIL_TO: 'ops@example.com',
        HOOKLINE_ALERT_THRESHOLD: '2',
        HOOKLINE_OPS_WEBHOOK_URL: `${receiver.url}/ops`,
        HOOKLINE_OPS_WEBHOOK_SECRET: opsSecret,
        HOOKLINE_ENDPOINT_DOWN_AFTER_MS: '1500',
        TEST_PLUGIN_TAG: 'enriched',
      },
    });
  });

  after(async () => {
    await stack?.stop();
    await receiver?.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const opsTypes = () =>
    receiver.to('/ops').map((r) => (verifyWebhook(opsSecret, r.headers, r.body) as { type: string }).type);

  it('runs ingest middleware: enriches events, rejects with 422 naming the plugin', async () => {
    await api(stack, 'POST', '/api/endpoints', { name: 'ok', url: `${receiver.url}/ok`, events: ['ok.*'] });
    const sent = await api(stack, 'POST', '/api/events', { type: 'ok.created', payload: { n: 1 } });
    assert.equal(sent.status, 202);
    const [arrived] = await receiver.waitFor(1, { path: '/ok' });
    assert.deepEqual(JSON.parse(arrived!.body), { n: 1, enrichedBy: 'enriched' });

    const blocked = await api(stack, 'POST', '/api/events', { type: 'blocked.x', payload: {} });
    assert.equal(blocked.status, 422);
    assert.match(blocked.body.detail, /test-plugin: blocked type/);
  });

  it('keeps delivering when a plugin hook throws, and counts the failure', async () => {
    await waitUntil(async () => {
      const metrics = await fetch(`${stack.platform.apiUrl}/metrics`).then((r) => r.text());
      return /hookline_plugin_errors_total\{plugin="test-plugin",hook="webhook:delivered"\} [1-9]/.test(
        metrics,
      );
    });
    const events = await api(stack, 'GET', '/api/events?type=ok.created');
    await waitUntil(
      async () =>
        (await api(stack, 'GET', `/api/events/${events.body.data[0].id}`)).body.status === 'delivered',
    );
  });

  it('mails and posts failures past the threshold and dead letters', async () => {
    receiver.respond('/dead', 500);
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'Dead end',
      url: `${receiver.url}/dead`,
      events: ['dead.*'],
      retryConfig: { strategy: 'fixed', baseDelay: 200, maxAttempts: 3 },
      circuitBreaker: { threshold: 100 },
    });
    await api(stack, 'POST', '/api/events', { type: 'dead.x', payload: {} });
    // Notifications are sent concurrently, so they may arrive in any order: wait for all of them.
    const failedMails = () => mails.filter((m) => m.subject === 'Webhook failed: Dead end');
    await waitUntil(
      async () => mails.some((m) => m.subject === 'Dead letter: Dead end') && failedMails().length >= 2,
    );
    const failed = failedMails().sort((a, b) => a.text.localeCompare(b.text));
    assert.equal(failed.length, 2, 'attempts 2 and 3 reach the threshold of 2; attempt 1 does not');
    assert.match(failed[0]!.text, /failed after 2 attempt\(s\); it will be retried/);
    assert.match(failed[1]!.text, /failed after 3 attempt\(s\); it will not be retried/);
    assert.equal(failed[0]!.to, 'ops@example.com');
    await waitUntil(
      async () =>
        opsTypes().includes('webhook.dead_lettered') &&
        opsTypes().filter((t) => t === 'webhook.failed').length >= 3,
    );
    assert.equal(
      opsTypes().filter((t) => t === 'webhook.failed').length,
      3,
      'the ops webhook hears every failure',
    );
    assert.ok(ep.body.id);
  });

  it('announces a circuit that opens, an endpoint that stays down, and the circuit closing', async () => {
    receiver.respond('/flaky', 503);
    await api(stack, 'POST', '/api/endpoints', {
      name: 'Flaky',
      url: `${receiver.url}/flaky`,
      events: ['flaky.*'],
      retryConfig: { strategy: 'fixed', baseDelay: 200, maxAttempts: 20 },
      circuitBreaker: { threshold: 2, cooldown: 3000 },
    });
    await api(stack, 'POST', '/api/events', { type: 'flaky.x', payload: {} });
    await waitUntil(async () => mails.some((m) => m.subject === 'Circuit opened: Flaky'));
    await waitUntil(async () => mails.some((m) => m.subject === 'Endpoint down: Flaky'), 15_000);
    assert.match(
      mails.find((m) => m.subject === 'Endpoint down: Flaky')!.text,
      /has been down for \d+ minutes/,
    );
    assert.equal(mails.filter((m) => m.subject === 'Endpoint down: Flaky').length, 1, 'once per outage');
    receiver.respond('/flaky', 200);
    await waitUntil(async () => opsTypes().includes('endpoint.circuit_closed'), 20_000).catch(async (err) => {
      const eps = await api(stack, 'GET', '/api/endpoints');
      const flaky = eps.body.data.find((e: { name: string }) => e.name === 'Flaky');
      const circuit = await api(stack, 'GET', `/api/endpoints/${flaky.id}/circuit`);
      throw new Error(
        `${err}: ops ${JSON.stringify(opsTypes())}, circuit ${JSON.stringify(circuit.body)}, flaky hits ${receiver.to('/flaky').length}`,
      );
    });
    for (const type of ['endpoint.circuit_opened', 'endpoint.down'])
      assert.ok(opsTypes().includes(type), type);
    assert.ok(!opsTypes().includes('webhook.delivered'), 'the ops webhook skips successes');
  });
});
