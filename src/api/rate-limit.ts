import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { bearerToken } from './auth.js';
import { HttpProblem } from './problem.js';

/**
 * A token bucket per API key, in this API process: `perSecond` requests a second on average,
 * bursts up to `burst`. Past it: 429 with Retry-After. Several API replicas each allow this much.
 *
 * It runs first, when the request arrives (before the key is looked up in the database), and a
 * request answered 503 (a dependency down) gets its token back: requests that only waited for
 * the database are not counted against the client when it comes back.
 */
export function rateLimit({ perSecond, burst }: { perSecond: number; burst: number }): RequestHandler {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (req, res, next) => {
    if (perSecond <= 0) return next();
    const token = bearerToken(req.headers.authorization);
    if (!token) return next(); // answered 401 at once, without the database
    const key = createHash('sha256').update(token).digest('base64url');
    const now = Date.now();
    const bucket = buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    if (buckets.size > 10_000) buckets.clear(); // bounded memory; a reset only forgives
    buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.ceil((1 - bucket.tokens) / perSecond);
      res.setHeader('Retry-After', String(retryAfter));
      return next(
        new HttpProblem(
          429,
          'Too many requests',
          `this API key is limited to ${perSecond} requests a second`,
        ),
      );
    }
    bucket.tokens -= 1;
    res.once('finish', () => {
      if (res.statusCode === 503) bucket.tokens = Math.min(burst, bucket.tokens + 1);
    });
    next();
  };
}
