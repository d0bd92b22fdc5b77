/**
 * Retry policy: when the next attempt of a delivery happens. Pure (the jitter's randomness is a
 * parameter) so workflows can use it deterministically, with their seeded Math.random.
 */

import type { RetryStrategy } from './vocabulary.js';

export { RETRY_STRATEGIES, type RetryStrategy } from './vocabulary.js';

export interface RetryConfig {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  strategy: RetryStrategy;
  /** ms; the unit of exponential, linear and fixed. */
  baseDelay: number;
  /** ms; no wait is longer. */
  maxDelay: number;
  /** Spread each wait uniformly over ±JITTER_RATIO of itself, so retries of many deliveries do not align. */
  jitter: boolean;
  /** ms; for `custom`, the wait after attempt n is schedule[n-1] (the last entry repeats). */
  schedule: number[];
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The production default when an endpoint sets no retryConfig: 8 attempts spread over about a day
 * (at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — 27 h 35 min in all), Svix's
 * schedule, with jitter.
 */
export const DEFAULT_RETRY_CONFIG: RetryConfig = {
  maxAttempts: 8,
  strategy: 'custom',
  baseDelay: 5 * SECOND,
  maxDelay: 10 * HOUR,
  jitter: true,
  schedule: [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR],
};

/** Defaults for the fields an endpoint's partial retryConfig leaves out (the guide's style). */
export const RETRY_FIELD_DEFAULTS = {
  maxAttempts: 5,
  baseDelay: 1 * SECOND,
  maxDelay: 1 * HOUR,
  jitter: false,
} as const;

export const RETRY_BOUNDS = {
  maxAttempts: { min: 1, max: 50 },
  baseDelay: { min: 100, max: DAY },
  maxDelay: { min: 100, max: 7 * DAY },
  scheduleEntry: { min: 0, max: 7 * DAY },
  scheduleLength: { min: 1, max: 50 },
} as const;

export const JITTER_RATIO = 0.2;

/** Retry-After is honoured up to this long; a receiver cannot park a delivery for longer. */
export const RETRY_AFTER_CAP_MS = 6 * HOUR;

/** The wait, before jitter and cap, after attempt `attempt` (1-based) failed. */
function baseWait(config: RetryConfig, attempt: number): number {
  switch (config.strategy) {
    case 'exponential':
      // 2^(n-1) overflows to Infinity long after the cap; the cap below handles it.
      return config.baseDelay * 2 ** (attempt - 1);
    case 'linear':
      return config.baseDelay * attempt;
    case 'fixed':
      return config.baseDelay;
    case 'custom': {
      const { schedule } = config;
      return schedule[Math.min(attempt, schedule.length) - 1] ?? config.baseDelay;
    }
  }
}

/**
 * ms to wait after attempt `attempt` failed before the next one, or null when `attempt` was the
 * last allowed. `random` is in [0, 1); with jitter the wait is spread over ±20 %, then capped.
 */
export function nextDelay(
  config: RetryConfig,
  attempt: number,
  random: () => number = () => 0.5,
): number | null {
  if (attempt >= config.maxAttempts) return null;
  const wait = baseWait(config, attempt);
  const jittered = config.jitter ? wait * (1 - JITTER_RATIO + 2 * JITTER_RATIO * random()) : wait;
  return Math.round(Math.min(jittered, config.maxDelay));
}

/** Every wait of a full schedule without jitter: what a user sees when configuring an endpoint. */
export function delaySchedule(config: RetryConfig): number[] {
  const waits: number[] = [];
  for (let n = 1; n < config.maxAttempts; n++) waits.push(nextDelay({ ...config, jitter: false }, n)!);
  return waits;
}

/**
 * The Retry-After header in ms from `nowMs`: delta-seconds or an HTTP date. Null when absent or
 * unparseable; never negative.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * SECOND;
  // An HTTP date names its weekday and month; without letters, Date.parse would take '-5' as a year.
  if (!/^[A-Za-z]{3}/.test(trimmed)) return null;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

/**
 * The wait before the next attempt: the policy's, lengthened to the receiver's Retry-After (at
 * most RETRY_AFTER_CAP_MS), or null when no attempt is left.
 */
export function waitBeforeRetry(policyDelay: number | null, retryAfterMs: number | null): number | null {
  if (policyDelay === null) return null;
  if (retryAfterMs === null) return policyDelay;
  return Math.max(policyDelay, Math.min(retryAfterMs, RETRY_AFTER_CAP_MS));
}

/** What an endpoint stores: any subset of the fields; absent means the production default. */
export type RetryConfigInput = Partial<RetryConfig>;

export function resolveRetryConfig(input: RetryConfigInput | null | undefined): RetryConfig {
  if (!input || Object.keys(input).length === 0) return DEFAULT_RETRY_CONFIG;
  const strategy = input.strategy ?? 'exponential';
  const baseDelay = input.baseDelay ?? RETRY_FIELD_DEFAULTS.baseDelay;
  return {
    maxAttempts: input.maxAttempts ?? RETRY_FIELD_DEFAULTS.maxAttempts,
    strategy,
    baseDelay,
    maxDelay: input.maxDelay ?? Math.max(RETRY_FIELD_DEFAULTS.maxDelay, baseDelay),
    jitter: input.jitter ?? RETRY_FIELD_DEFAULTS.jitter,
    schedule: input.schedule ?? [],
  };
}
