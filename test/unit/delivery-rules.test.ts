import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPrivateAddress } from '../../activities/network.js';
import { classifyError, classifyStatus } from '../../src/domain/outcome.js';
import { webhookMessageId } from '../../src/domain/ids.js';

describe('delivery outcome classification', () => {
  it('counts every 2xx as delivered', () => {
    for (const s of [200, 201, 202, 204, 299]) assert.equal(classifyStatus(s), 'delivered', String(s));
  });

  it('retries 408, 429 and the transient 5xx statuses', () => {
    for (const s of [408, 429, 500, 502, 503, 504]) assert.equal(classifyStatus(s), 'retryable', String(s));
  });

  it('treats 410 as gone and other 3xx and 4xx as failed without retry', () => {
    assert.equal(classifyStatus(410), 'gone');
    for (const s of [301, 302, 307, 400, 401, 403, 404, 413, 422, 501])
      assert.equal(classifyStatus(s), 'failed', String(s));
  });

  it('retries transport errors but not refused or misconfigured targets', () => {
    for (const c of ['timeout', 'connection', 'dns'] as const) assert.equal(classifyError(c), 'retryable');
    for (const c of ['ssrf', 'config'] as const) assert.equal(classifyError(c), 'failed');
  });
});

describe('SSRF address check', () => {
  it('refuses loopback, private, link-local and unspecified addresses, v4 and v6', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '100.64.0.1',
    ]) {
      assert.equal(isPrivateAddress(a), true, a);
    }
  });

  it('allows public addresses', () => {
    for (const a of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111'])
      assert.equal(isPrivateAddress(a), false, a);
  });
});

describe('webhook message id', () => {
  it('is stable per event and endpoint and has no dots', () => {
    assert.equal(webhookMessageId('evt_1', 'ep_2'), webhookMessageId('evt_1', 'ep_2'));
    assert.notEqual(webhookMessageId('evt_1', 'ep_2'), webhookMessageId('evt_1', 'ep_3'));
    assert.doesNotMatch(webhookMessageId('evt.1', 'ep.2'), /\./);
  });
});
