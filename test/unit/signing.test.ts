import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bodySignature,
  generateSecret,
  signatureHeaders,
  signingKey,
  standardSignature,
} from '../../src/domain/signing.js';
import { verifyBodySignature, verifyStandardWebhook } from '../helpers/verify-webhook.js';

// The published Standard Webhooks test vector (reference libraries' own tests).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('signing', () => {
  it('reproduces the Standard Webhooks known-answer vector exactly', () => {
    assert.equal(
      standardSignature([VECTOR.secret], VECTOR.msgId, VECTOR.timestamp, VECTOR.body),
      VECTOR.signature,
    );
  });

  it('is verified by an independent receiver implementation for the vector', async () => {
    const ok = await verifyStandardWebhook(
      VECTOR.secret,
      {
        'webhook-id': VECTOR.msgId,
        'webhook-timestamp': String(VECTOR.timestamp),
        'webhook-signature': VECTOR.signature,
      },
      VECTOR.body,
      VECTOR.timestamp,
    );
    assert.equal(ok, true);
  });

  it('keys whsec_ secrets by their base64-decoded bytes and plain secrets by their UTF-8 bytes', () => {
    assert.deepEqual(signingKey('whsec_aGVsbG8='), Buffer.from('hello'));
    assert.deepEqual(signingKey('webhook-secret-key'), Buffer.from('webhook-secret-key', 'utf8'));
  });

  it('signs with both key forms so that the independent verifier accepts every header', async () => {
    for (const secret of [generateSecret(), 'webhook-secret-key']) {
      const body = JSON.stringify({ order: { id: 'ORD-1', amount: 299.99, note: 'café ✓' } });
      const now = Math.floor(Date.now() / 1000);
      const headers = signatureHeaders({
        webhookId: 'msg_evt1_ep1',
        eventId: 'evt1',
        eventType: 'order.created',
        timestampSeconds: now,
        body,
        secrets: [secret],
        signatureHeader: 'X-Signature',
      });
      assert.equal(
        await verifyStandardWebhook(secret, headers, body),
        true,
        `standard signature for ${secret}`,
      );
      assert.equal(
        await verifyBodySignature(secret, headers['X-Signature'], body),
        true,
        `body signature for ${secret}`,
      );
      assert.equal(headers['X-Hookline-Event-Type'], 'order.created');
      assert.equal(headers['X-Hookline-Event-Id'], 'evt1');
      assert.equal(headers['X-Hookline-Timestamp'], String(now));
      assert.equal(await verifyStandardWebhook(secret, headers, body + ' '), false, 'a changed body fails');
      assert.equal(
        await verifyStandardWebhook('whsec_' + 'A'.repeat(32), headers, body),
        false,
        'another key fails',
      );
    }
  });

  it('uses X-Hookline-Signature when the endpoint names no signature header', () => {
    const headers = signatureHeaders({
      webhookId: 'm',
      eventId: 'e',
      eventType: 't',
      timestampSeconds: 1,
      body: '{}',
      secrets: ['s3cret-s3cret'],
    });
    assert.equal(headers['X-Hookline-Signature'], bodySignature('s3cret-s3cret', '{}'));
  });

  it('signs with every secret during a rotation, space-separated, and either key verifies', async () => {
    const [oldKey, newKey] = [generateSecret(), generateSecret()];
    const sig = standardSignature([newKey, oldKey], 'msg_1', 1700000000, '{}');
    assert.equal(sig.split(' ').length, 2);
    for (const key of [oldKey, newKey]) {
      const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': '1700000000', 'webhook-signature': sig };
      assert.equal(await verifyStandardWebhook(key, headers, '{}', 1700000000), true);
    }
  });

  it('rejects a timestamp outside the five-minute tolerance in the verifier', async () => {
    const secret = generateSecret();
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': standardSignature([secret], 'msg_1', 1700000000, '{}'),
    };
    assert.equal(await verifyStandardWebhook(secret, headers, '{}', 1700000000 + 301), false);
  });

  it('generates whsec_ secrets of 24 random bytes', () => {
    const secret = generateSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/);
    assert.equal(signingKey(secret).length, 24);
    assert.notEqual(generateSecret(), secret);
  });
});
