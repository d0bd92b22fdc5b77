import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Response } from 'express';
import type { z } from 'zod';
import type { FieldProblem } from '../domain/input.js';
import { DEPENDENCY_RETRY_AFTER_S, dependencyDown } from './unavailable.js';

export type { FieldProblem };

/** RFC 9457 problem details; `errors` lists every field problem at once. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldProblem[],
    /** Response headers that belong to the problem, such as `Retry-After`. */
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? title);
  }
}

export function sendProblem(res: Response, p: HttpProblem): void {
  if (p.headers) res.set(p.headers);
  res
    .status(p.status)
    .type('application/problem+json')
    .json({
      type: 'about:blank',
      title: p.title,
      status: p.status,
      ...(p.detail ? { detail: p.detail } : {}),
      ...(p.errors ? { errors: p.errors } : {}),
    });
}

export function validationProblem(error: z.ZodError): HttpProblem {
  const errors = error.issues.map((i) => ({
    field: i.path.length ? i.path.map(String).join('.') : '(body)',
    message: i.message,
  }));
  return new HttpProblem(400, 'Invalid request', `${errors.length} problem(s) in the request`, errors);
}

export const notFound = (what: string) => new HttpProblem(404, 'Not found', `${what} not found`);

/**
 * The one error middleware: known problems as they are, body-parser errors mapped, other client
 * errors of Express and its parsers (an unsupported charset or encoding, a path that is not valid
 * percent-encoding) with their 4xx status, the rest 500.
 */
export function errorHandler(log: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof HttpProblem) return sendProblem(res, err);
    // A dependency down is 503 with Retry-After (clients retry), never a 500.
    const down = dependencyDown(err);
    if (down) {
      res.setHeader('Retry-After', String(DEPENDENCY_RETRY_AFTER_S));
      const what = down === 'database' ? 'the database (PostgreSQL)' : 'the workflow engine (Temporal)';
      return sendProblem(
        res,
        new HttpProblem(503, 'Service unavailable', `${what} is not answering; retry later`),
      );
    }
    const type = (err as { type?: string }).type;
    if (type === 'entity.parse.failed') {
      return sendProblem(res, new HttpProblem(400, 'Malformed JSON', 'the request body is not valid JSON'));
    }
    if (type === 'entity.too.large') {
      return sendProblem(res, new HttpProblem(413, 'Payload too large', 'the request body is too large'));
    }
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendProblem(
        res,
        new HttpProblem(status, STATUS_CODES[status] ?? 'Bad request', (err as Error).message),
      );
    }
    log(err);
    sendProblem(res, new HttpProblem(500, 'Internal error'));
  };
}
