import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MockAgent } from 'undici';
import { postWebhook } from '../../activities/http-post.js';
import { createDeliveryAgent } from '../../activities/network.js';
import type { Endpoint } from '../../src/db/endpoints.js';
import type { StoredEvent } from '../../src/db/events.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const event: StoredEvent = {
  id: 'evt_ssrf',
  applicationId: 'app',
  type: 'probe.test',
  source: null,
  body: '{"x":1}',
  options: {},
  tags: [],
  status: 'accepted',
  dispatchedAt: null,
  matched: null,
  priority: 'normal',
  idempotencyKey: null,
  bodyHash: null,
  replays: 0,
  createdAt: new Date(),
  progress: { pending: 0, active: 0, delivered: 0, failed: 0, terminated: 0, cancelled: 0 },
};

const endpointAt = (url: string): Endpoint => ({
  id: 'ep_ssrf',
  applicationId: 'app',
  name: 'ssrf',
  url,
  events: ['*'],
  headers: {},
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  previousSecrets: [],
  signatureHeader: null,
  timeoutMs: 2000,
  retryConfig: null,
  circuitBreaker: null,
  filters: null,
  rateLimit: null,
  enabled: true,
  disabledReason: null,
  createdAt: new Date(),
  updatedAt: new Date(),
});

describe('SSRF guard on real connections', () => {
  let receiver: Receiver;
  const guarded = createDeliveryAgent(false);
  const open = createDeliveryAgent(true);

  before(async () => {
    receiver = await startReceiver();
  });

  after(async () => {
    await Promise.all([guarded.close(), open.close(), receiver.close()]);
  });

  const port = () => new URL(receiver.url).port;

  // Loopback in every spelling: a literal v4, a name that DNS resolves to loopback (checked at
  // connect time, so the address checked is the address dialled), a literal v6, IPv4-mapped v6.
  for (const host of ['127.0.0.1', 'localhost', '[::1]', '[::ffff:127.0.0.1]']) {
    it(`refuses ${host} as ssrf, not retried, and sends nothing`, async () => {
      const before = receiver.received.length;
      const r = await postWebhook(guarded, event, endpointAt(`http://${host}:${port()}/x`), false);
      assert.equal(r.errorClass, 'ssrf', r.errorMessage ?? '');
      assert.equal(r.outcome, 'failed');
      assert.equal(receiver.received.length, before);
    });
  }

  it('reaches the same loopback receiver when private networks are allowed', async () => {
    const r = await postWebhook(open, event, endpointAt(`http://localhost:${port()}/allowed`), true);
    assert.equal(r.outcome, 'delivered', r.errorMessage ?? '');
    assert.equal(receiver.to('/allowed').length, 1);
  });

  // Non-loopback classes: the literal is refused before any connection. The dispatcher here
  // refuses every connection itself, so a guard that failed could not send traffic anywhere; it
  // would show up as a `connection` error instead of `ssrf`.
  const noNetwork = new MockAgent();
  noNetwork.disableNetConnect();
  for (const [label, host] of [
    ['private 10/8', '10.0.0.5'],
    ['private 172.16/12', '172.20.1.1'],
    ['private 192.168/16', '192.168.1.10'],
    ['CGNAT 100.64/10', '100.64.0.1'],
    ['link-local / cloud metadata', '169.254.169.254'],
    ['unspecified', '0.0.0.0'],
    ['unique-local v6', '[fd00::1]'],
    ['link-local v6', '[fe80::1]'],
    ['IPv4-mapped private v6', '[::ffff:10.0.0.1]'],
  ] as const) {
    it(`refuses ${label} (${host}) as ssrf`, async () => {
      const r = await postWebhook(noNetwork, event, endpointAt(`http://${host}/hook`), false);
      assert.equal(r.errorClass, 'ssrf', r.errorMessage ?? '');
      assert.equal(r.outcome, 'failed');
    });
  }
});
