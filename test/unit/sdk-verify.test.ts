import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook, WebhookVerificationError } from '../../sdk/src/verify.js';
import { generateSecret, signatureHeaders } from '../../src/domain/signing.js';

const body = JSON.stringify({ order: { id: 'ORD-1', amount: 299.99 } });
const now = 1_790_000_000;

function signed(secrets: string[], ts = now, signatureHeader?: string) {
  return signatureHeaders({
    webhookId: 'msg_1',
    eventId: 'evt_1',
    eventType: 'order.created',
    timestampSeconds: ts,
    body,
    secrets,
    ...(signatureHeader ? { signatureHeader } : {}),
  });
}

const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WebhookVerificationError);
    return err.reason;
  }
  assert.fail('it verified');
};

describe('verifyWebhook (sdk)', () => {
  it('verifies what Hookline signs and returns the parsed body', () => {
    const secret = generateSecret();
    assert.deepEqual(verifyWebhook(secret, signed([secret]), body, { nowSeconds: now }), JSON.parse(body));
    // A fetch Headers object works the same.
    assert.deepEqual(
      verifyWebhook(secret, new Headers(signed([secret])), Buffer.from(body), { nowSeconds: now }),
      JSON.parse(body),
    );
  });

  it('interoperates with the standardwebhooks package in both directions', () => {
    const secret = generateSecret();
    const theirs = new Webhook(secret);
    // Hookline signs, the package verifies.
    const ours = signed([secret], Math.floor(Date.now() / 1000));
    assert.deepEqual(
      theirs.verify(body, {
        'webhook-id': ours['webhook-id']!,
        'webhook-timestamp': ours['webhook-timestamp']!,
        'webhook-signature': ours['webhook-signature']!,
      }),
      JSON.parse(body),
    );
    // The package signs, Hookline's function verifies.
    const at = new Date(now * 1000);
    const headers = {
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(now),
      'webhook-signature': theirs.sign('msg_2', at, body),
    };
    assert.deepEqual(verifyWebhook(secret, headers, body, { nowSeconds: now }), JSON.parse(body));
    assert.equal(
      reason(() => verifyWebhook(generateSecret(), headers, body, { nowSeconds: now })),
      'no_matching_signature',
    );
  });

  it('accepts any signature of a rotation, and any of several receiver secrets', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const headers = signed([newSecret, oldSecret]);
    assert.ok(verifyWebhook(oldSecret, headers, body, { nowSeconds: now }));
    assert.ok(verifyWebhook(newSecret, headers, body, { nowSeconds: now }));
    assert.ok(verifyWebhook([generateSecret(), newSecret], signed([newSecret]), body, { nowSeconds: now }));
  });

  it('enforces the timestamp tolerance', () => {
    const secret = generateSecret();
    const headers = signed([secret], now - 301);
    assert.equal(
      reason(() => verifyWebhook(secret, headers, body, { nowSeconds: now })),
      'timestamp_too_old',
    );
    assert.ok(verifyWebhook(secret, headers, body, { nowSeconds: now, toleranceSeconds: 600 }));
    assert.equal(
      reason(() => verifyWebhook(secret, signed([secret], now + 301), body, { nowSeconds: now })),
      'timestamp_too_new',
    );
  });

  it('refuses a changed body, a wrong secret and missing headers', () => {
    const secret = generateSecret();
    const headers = signed([secret]);
    assert.equal(
      reason(() => verifyWebhook(secret, headers, body.replace('299.99', '1.00'), { nowSeconds: now })),
      'no_matching_signature',
    );
    assert.equal(
      reason(() => verifyWebhook('other', headers, body, { nowSeconds: now })),
      'no_matching_signature',
    );
    assert.equal(
      reason(() => verifyWebhook(secret, {}, body, { nowSeconds: now })),
      'missing_headers',
    );
  });

  it('verifies the guide-style X-Hookline-Signature, also under a custom header name', () => {
    const secret = 'webhook-secret-key';
    const all = signed([secret], now, 'X-Shop-Signature');
    const guideOnly = {
      'x-shop-signature': all['X-Shop-Signature']!,
      'x-hookline-timestamp': all['X-Hookline-Timestamp']!,
    };
    assert.ok(
      verifyWebhook(secret, guideOnly, body, { nowSeconds: now, signatureHeader: 'X-Shop-Signature' }),
    );
    assert.equal(
      reason(() =>
        verifyWebhook('nope', guideOnly, body, { nowSeconds: now, signatureHeader: 'X-Shop-Signature' }),
      ),
      'no_matching_signature',
    );
  });
});
