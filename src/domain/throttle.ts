/**
 * An endpoint's throttle: at most `perSecond` deliveries a second on average, `burst` of them at
 * once after a quiet spell (GCRA; the state and the reservation are src/db/throttle.ts).
 */
export interface RateLimit {
  /** Sends per second; fractions allowed (0.5: one every 2 s). */
  perSecond: number;
  /** Sends allowed at once after a quiet spell (1: strictly spaced). */
  burst: number;
}

export const RATE_LIMIT_BOUNDS = {
  /** 0.001/s is one send every 16 min 40 s; the interval stays a sane number of microseconds. */
  perSecond: { min: 0.001, max: 10_000 },
  burst: { min: 1, max: 10_000 },
} as const;

export const DEFAULT_BURST = 1;

/**
 * The emission interval T = 1/perSecond, in whole microseconds (PostgreSQL's timestamp
 * resolution), so the reservation's arithmetic is exact: `burst` sends at once cost exactly
 * `burst`·T and none of them waits a rounding error.
 */
export function emissionIntervalUs(limit: RateLimit): number {
  return Math.max(1, Math.round(1_000_000 / limit.perSecond));
}
