import type { ErrorRequestHandler, Response } from 'express';
import type { z } from 'zod';

/** RFC 9457 problem details; `errors` lists every field problem at once. */
export interface FieldProblem {
  field: string;
  message: string;
}

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldProblem[],
  ) {
    super(detail ?? title);
  }
}

export function sendProblem(res: Response, p: HttpProblem): void {
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

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const DB_DOWN_MESSAGES = [
  'Connection terminated',
  'timeout expired',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error',
  'Connection ended unexpectedly',
];
// gRPC status codes: 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED.
const GRPC_DOWN = new Set([4, 14]);

/**
 * Which dependency an error says is down or not answering: PostgreSQL (a refused or dropped
 * connection, a connect or query timeout, SQLSTATE class 08, 57P01–57P03, 53300) or Temporal
 * (gRPC UNAVAILABLE or DEADLINE_EXCEEDED), looking through the error's causes.
 */
export function dependencyDown(err: unknown): 'database' | 'temporal' | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, message, errors, name } = e as {
      code?: unknown;
      message?: unknown;
      errors?: unknown;
      name?: unknown;
    };
    if (typeof code === 'number' && GRPC_DOWN.has(code)) return 'temporal';
    if (name === 'ServiceError' || name === 'ConnectionError') {
      const cause = (e as { cause?: { code?: unknown } }).cause;
      if (typeof cause?.code === 'number' && GRPC_DOWN.has(cause.code)) return 'temporal';
    }
    if (typeof code === 'string') {
      if (CONNECTION_CODES.has(code)) return 'database';
      if (/^08/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code)) return 'database';
    }
    if (typeof message === 'string' && DB_DOWN_MESSAGES.some((m) => message.includes(m))) return 'database';
    if (Array.isArray(errors) && errors.some((x) => dependencyDown(x) === 'database')) return 'database';
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Seconds a client should wait before retrying while a dependency is down. */
export const DEPENDENCY_RETRY_AFTER_S = 5;

/**
 * The one error middleware: known problems as they are, body-parser errors mapped, a dependency
 * down 503 with Retry-After (so clients retry; never a 500), the rest 500.
 */
export function errorHandler(log: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof HttpProblem) return sendProblem(res, err);
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
    log(err);
    sendProblem(res, new HttpProblem(500, 'Internal error'));
  };
}
