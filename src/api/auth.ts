import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { applicationForKey } from '../db/applications.js';
import type { Db } from '../db/pool.js';
import { HttpProblem } from './problem.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The application of the request's API key; set by `requireApiKey`. */
    applicationId: string;
  }
}

/** The token of `Authorization: Bearer <token>`; none when absent, malformed or over 512 characters. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header ?? '');
  return match?.[1];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether a scrape may read /metrics: always without a token, else with it (constant time). */
export function metricsAuthorized(token: string | undefined, authorization: string | undefined): boolean {
  if (!token) return true;
  const given = bearerToken(authorization);
  return given !== undefined && timingSafeEqual(digest(given), digest(token));
}

/** How long a valid key's application is remembered (a revocation elsewhere applies within this). */
const KEY_CACHE_MS = 5_000;
const KEY_CACHE_SIZE = 10_000;

export interface KeyLookup {
  applicationOf(key: string): Promise<string | undefined>;
  /** Forgets every remembered key (this process revoked a key or deleted an application). */
  forget(): void;
}

/**
 * API keys to applications, remembered for a few seconds: the lookup is a query per request
 * otherwise, which at a thousand events a second is half of ingest's round trips. Only valid keys
 * are remembered; a revocation in this process forgets them at once, one in another API process
 * applies within KEY_CACHE_MS.
 */
export function keyLookup(db: Db): KeyLookup {
  const known = new Map<string, { applicationId: string; until: number }>();
  return {
    async applicationOf(key) {
      const hit = known.get(key);
      if (hit && hit.until > Date.now()) return hit.applicationId;
      const applicationId = await applicationForKey(db, key);
      if (applicationId) {
        if (known.size >= KEY_CACHE_SIZE) known.clear();
        known.set(key, { applicationId, until: Date.now() + KEY_CACHE_MS });
      } else known.delete(key);
      return applicationId;
    },
    forget: () => known.clear(),
  };
}

/** Every /api route acts inside the application of its `Authorization: Bearer <key>`. */
export function requireApiKey(keys: KeyLookup): RequestHandler {
  return async (req, _res, next) => {
    const key = bearerToken(req.headers.authorization);
    if (!key)
      return next(new HttpProblem(401, 'Unauthorized', 'send an API key as Authorization: Bearer <key>'));
    const applicationId = await keys.applicationOf(key);
    if (!applicationId) return next(new HttpProblem(401, 'Unauthorized', 'the API key is not valid'));
    req.applicationId = applicationId;
    next();
  };
}
