/**
 * Errors that mean a dependency is down or not answering, so that the one error handler
 * (src/api/problem.ts) answers 503 with Retry-After: clients such as the SDK retry 503s and 429s
 * but give up on a 500.
 */
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
