import express, { type RequestHandler } from 'express';
import { HttpProblem, notFound } from './problem.js';

// The rules themselves are the domain's (src/domain/input.ts), shared with the intake service.
export {
  MAX_DATE,
  MAX_JSON_DEPTH,
  MIN_DATE,
  NUL_MESSAGE,
  SURROGATE_MESSAGE,
  jsonDepth,
  queryDate,
  refuseUnstorable,
  text,
  unstorable,
} from '../domain/input.js';
import { MAX_JSON_DEPTH, jsonDepth, text } from '../domain/input.js';

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
