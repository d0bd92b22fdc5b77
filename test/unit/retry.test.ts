import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_RETRY_CONFIG,
  delaySchedule,
  nextDelay,
  parseRetryAfter,
  RETRY_AFTER_CAP_MS,
  waitBeforeRetry,
  type RetryConfig,
} from '../../src/domain/retry.js';

const config = (over: Partial<RetryConfig>): RetryConfig => ({
  maxAttempts: 6,
  strategy: 'exponential',
  baseDelay: 1000,
  maxDelay: 3_600_000,
  jitter: false,
  schedule: [],
  ...over,
});

describe('retry delays', () => {
  it('doubles from the base delay for exponential', () => {
    assert.deepEqual(delaySchedule(config({ strategy: 'exponential' })), [1000, 2000, 4000, 8000, 16000]);
  });

  it('grows by the base delay for linear', () => {
    assert.deepEqual(delaySchedule(config({ strategy: 'linear' })), [1000, 2000, 3000, 4000, 5000]);
  });

  it('keeps the base delay for fixed', () => {
    assert.deepEqual(
      delaySchedule(config({ strategy: 'fixed', baseDelay: 2500 })),
      [2500, 2500, 2500, 2500, 2500],
    );
  });

  it('follows the schedule for custom and repeats its last entry', () => {
    assert.deepEqual(
      delaySchedule(config({ strategy: 'custom', schedule: [10, 20, 30] })),
      [10, 20, 30, 30, 30],
    );
  });

  it('caps every strategy at maxDelay, even where 2^n overflows', () => {
    assert.deepEqual(delaySchedule(config({ maxDelay: 5000 })), [1000, 2000, 4000, 5000, 5000]);
    assert.equal(nextDelay(config({ maxAttempts: 50, maxDelay: 7_000 }), 49), 7000);
    assert.equal(nextDelay(config({ maxAttempts: 2000, maxDelay: 7_000 }), 1500), 7000);
    assert.deepEqual(
      delaySchedule(config({ strategy: 'custom', schedule: [10, 99_999], maxDelay: 50, maxAttempts: 3 })),
      [10, 50],
    );
  });

  it('stops after maxAttempts: no wait follows the last attempt', () => {
    const c = config({ maxAttempts: 3 });
    assert.equal(nextDelay(c, 2), 2000);
    assert.equal(nextDelay(c, 3), null);
    assert.equal(nextDelay(config({ maxAttempts: 1 }), 1), null);
  });

  it('spreads jittered waits over ±20 % and no further, still capped', () => {
    const c = config({ jitter: true, baseDelay: 10_000 });
    assert.equal(
      nextDelay(c, 1, () => 0),
      8000,
    );
    assert.equal(
      nextDelay(c, 1, () => 0.999999),
      12000,
    );
    for (let i = 0; i < 1000; i++) {
      const d = nextDelay(c, 3, Math.random)!;
      assert.ok(d >= 32_000 && d <= 48_000, String(d));
    }
    assert.equal(
      nextDelay(config({ jitter: true, maxDelay: 1000, baseDelay: 1000 }), 1, () => 0.99),
      1000,
    );
  });

  it('defaults to eight attempts spread over about a day', () => {
    const waits = delaySchedule({ ...DEFAULT_RETRY_CONFIG, jitter: false });
    assert.equal(waits.length, 7);
    const total = waits.reduce((a, b) => a + b, 0);
    assert.ok(total > 20 * 3_600_000 && total < 30 * 3_600_000, `${total / 3_600_000} h`);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-11-28T12:00:00Z');

  it('reads delta-seconds', () => {
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    assert.equal(parseRetryAfter('Sat, 28 Nov 2026 12:01:30 GMT', now), 90_000);
    assert.equal(parseRetryAfter('Sat, 28 Nov 2026 11:00:00 GMT', now), 0);
  });

  it('ignores absent and unparseable values', () => {
    for (const v of [null, undefined, '', 'soon', '-5', '1.5'])
      assert.equal(parseRetryAfter(v, now), null, String(v));
  });

  it('lengthens the policy wait up to the cap and never shortens it', () => {
    assert.equal(waitBeforeRetry(1000, 30_000), 30_000);
    assert.equal(waitBeforeRetry(60_000, 30_000), 60_000);
    assert.equal(waitBeforeRetry(1000, 10 * RETRY_AFTER_CAP_MS), RETRY_AFTER_CAP_MS);
    assert.equal(waitBeforeRetry(1000, null), 1000);
    assert.equal(waitBeforeRetry(null, 30_000), null, 'no attempt left stays no attempt left');
  });
});
