import express, { type RequestHandler } from 'express';
import { z } from 'zod';
import { HttpProblem, notFound } from './problem.js';

/**
 * The rules every input of the API passes before it is used: strings refuse NUL and lone UTF-16
 * surrogates (PostgreSQL's text and jsonb cannot hold them) and have a length cap, JSON has a
 * nesting cap and finite numbers, dates a range, ids a shape.
 */

/** JSON bodies may nest objects and arrays this deep; deeper answers 400 (docs/architecture.md). */
export const MAX_JSON_DEPTH = 64;

/** Dates in queries and filters: what PostgreSQL and JavaScript can both hold, with room to spare. */
export const MIN_DATE = new Date('1970-01-01T00:00:00.000Z');
export const MAX_DATE = new Date('9999-12-31T23:59:59.999Z');

// eslint-disable-next-line no-control-regex -- NUL is exactly what it refuses
const NO_NUL = /^[^\u0000]*$/;
export const NUL_MESSAGE = 'must not contain the NUL character (\\u0000)';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const SURROGATE_MESSAGE = 'must be well-formed Unicode (no lone surrogate)';

/** A string of at most `max` characters without NUL or a lone surrogate. */
export const text = (max: number) =>
  z
    .string()
    .max(max)
    .regex(NO_NUL, NUL_MESSAGE)
    .refine((s) => !LONE_SURROGATE.test(s), SURROGATE_MESSAGE);

/**
 * A date in a query string: ISO 8601 (or anything `Date` parses), between MIN_DATE and MAX_DATE.
 * Documented as a string, because that is what a client sends.
 */
export const queryDate = z
  .string()
  .max(64)
  .regex(NO_NUL, NUL_MESSAGE)
  .transform((value, ctx) => {
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'must be a date such as 2026-01-31T12:00:00Z' });
      return z.NEVER;
    }
    if (date < MIN_DATE || date > MAX_DATE) {
      ctx.addIssue({ code: 'custom', message: 'must be between 1970-01-01 and 9999-12-31' });
      return z.NEVER;
    }
    return date;
  });

const stringProblem = (s: string) =>
  s.includes('\0') ? NUL_MESSAGE : LONE_SURROGATE.test(s) ? SURROGATE_MESSAGE : undefined;

/**
 * The first place in a JSON value that PostgreSQL could not store, with why: a string or key
 * with NUL or a lone surrogate, or a number JSON cannot carry (1e400 parses as Infinity).
 * `path` is '' for the value itself. Iterative, so no depth of value can overflow the stack.
 */
export function unstorable(value: unknown): { path: string; message: string } | undefined {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'string') {
      const message = stringProblem(v);
      if (message) return { path: at, message };
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { path: at, message: 'is a number out of range' };
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v)) {
        const path = at ? `${at}.${k}` : k;
        const message = stringProblem(k);
        if (message) return { path, message: `has a key that ${message}` };
        stack.push([child, path]);
      }
    }
  }
  return undefined;
}

/** How deeply a JSON value nests objects and arrays, counted iteratively; stops past `cap`. */
export function jsonDepth(value: unknown, cap = Infinity): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > cap) return deepest;
    for (const child of Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/** A refinement for free-form JSON (payloads, filters): only what PostgreSQL can store. */
export function refuseUnstorable(value: unknown, ctx: z.RefinementCtx): void {
  const found = unstorable(value);
  if (found) {
    ctx.addIssue({ code: 'custom', path: found.path ? found.path.split('.') : [], message: found.message });
  }
}

/**
 * The JSON body parser, then the nesting cap, before anything recursive (zod, JSON.stringify)
 * sees the value. A request with a body must declare JSON; one without (a replay) needs nothing.
 */
export function jsonBody(limit: string): RequestHandler[] {
  const declaresJson: RequestHandler = (req, _res, next) => {
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (['POST', 'PUT', 'PATCH'].includes(req.method) && hasBody && !req.is('json')) {
      return next(new HttpProblem(415, 'Unsupported media type', 'send the body as application/json'));
    }
    next();
  };
  const depthCap: RequestHandler = (req, _res, next) => {
    if (jsonDepth(req.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      return next(
        new HttpProblem(400, 'Too deeply nested', `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`),
      );
    }
    next();
  };
  // Only the methods that take a body parse one: a GET's stray body cannot answer a 4xx it does
  // not document.
  const parse = express.json({ limit });
  const parseWhereTaken: RequestHandler = (req, res, next) =>
    ['POST', 'PUT', 'PATCH'].includes(req.method) ? parse(req, res, next) : next();
  return [declaresJson, parseWhereTaken, depthCap];
}

/** The shape of the ids Hookline makes (`newId`): prefix, `_`, 26 lower-case base32 characters. */
const idOf = (prefix: string) => new RegExp(`^${prefix}_[0-9a-z]{26}$`);

export const ID_SHAPES = {
  event: idOf('evt'),
  endpoint: idOf('ep'),
  deadLetter: idOf('dl'),
  /** A delivery's id is its workflow id, `delivery:<eventId>:<endpointId>`. */
  delivery: /^delivery:evt_[0-9a-z]{26}:ep_[0-9a-z]{26}$/,
  /** Applications and keys: generated ids, and the fixed ids of the default application. */
  admin: /^[A-Za-z0-9_-]{1,64}$/,
} as const;

/**
 * A `router.param` handler: an id that cannot exist answers 404 before any query runs (a NUL
 * or an overlong id would otherwise reach PostgreSQL).
 */
export function idParam(shape: RegExp, what: string) {
  return (_req: unknown, _res: unknown, next: (err?: unknown) => void, value: string) => {
    next(shape.test(value) ? undefined : notFound(what));
  };
}

/** The `Idempotency-Key` header, held to the same rules as the body's `options.idempotencyKey`. */
export const idempotencyKeyHeader = text(200).min(1);
