import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricsAuthorized } from '../../src/api/auth.js';
import { createMetrics, EVENT_TYPE_LABEL_LIMIT } from '../../src/metrics.js';

describe('metrics labels', () => {
  it('counts events by type only, and past the cap of distinct types under (other)', async () => {
    const metrics = createMetrics({ perEndpoint: true });
    for (let i = 0; i < EVENT_TYPE_LABEL_LIMIT + 50; i++) metrics.eventReceived(`t.${i}`);
    metrics.eventReceived('t.0');
    const [counter] = (await metrics.registry.getMetricsAsJSON()).filter(
      (m) => m.name === 'hookline_events_received_total',
    );
    const values = counter!.values as Array<{ labels: Record<string, string>; value: number }>;
    assert.equal(values.length, EVENT_TYPE_LABEL_LIMIT + 1);
    assert.deepEqual(Object.keys(values[0]!.labels), ['event_type']);
    assert.equal(
      values.find((v) => v.labels.event_type === 't.0')!.value,
      2,
      'a known type keeps its series',
    );
    assert.equal(values.find((v) => v.labels.event_type === '(other)')!.value, 50);
  });

  it('lets a scrape through without a token set, else only with that bearer token', () => {
    assert.equal(metricsAuthorized(undefined, undefined), true);
    assert.equal(metricsAuthorized('secret-token-123456', undefined), false);
    assert.equal(metricsAuthorized('secret-token-123456', 'Bearer wrong'), false);
    assert.equal(metricsAuthorized('secret-token-123456', 'Bearer secret-token-123456'), true);
  });
});
