import { z } from 'zod';

/**
 * The rules every input passes before it is used (the API's and the intake's): strings refuse NUL and lone UTF-16
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

/** One problem of a request: the field (a dotted path, or `(body)`) and what is wrong with it. */
export interface FieldProblem {
  field: string;
  message: string;
}
