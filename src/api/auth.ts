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

/** Every /api route acts inside the application of its `Authorization: Bearer <key>`. */
export function requireApiKey(db: Db): RequestHandler {
  return async (req, _res, next) => {
    const key = bearerToken(req.headers.authorization);
    if (!key)
      return next(new HttpProblem(401, 'Unauthorized', 'send an API key as Authorization: Bearer <key>'));
    const applicationId = await applicationForKey(db, key);
    if (!applicationId) return next(new HttpProblem(401, 'Unauthorized', 'the API key is not valid'));
    req.applicationId = applicationId;
    next();
  };
}
