/**
 * What an HTTP attempt means for the delivery, as data (not exceptions).
 * 2xx delivered; 408, 429, 500, 502, 503, 504 and transport errors retryable; 410 gone (stop and
 * disable the endpoint); every other status failed without retry. Redirects are not followed.
 */
export type AttemptOutcome = 'delivered' | 'retryable' | 'gone' | 'failed';

export type ErrorClass = 'timeout' | 'connection' | 'dns' | 'http' | 'ssrf' | 'config';

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

export function classifyStatus(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'gone';
  if (RETRYABLE_STATUSES.has(status)) return 'retryable';
  return 'failed';
}

/** Transport errors are retryable, except a refused (SSRF) or misconfigured target. */
export function classifyError(errorClass: ErrorClass): AttemptOutcome {
  return errorClass === 'ssrf' || errorClass === 'config' ? 'failed' : 'retryable';
}

/** Per-endpoint HTTP timeout when the endpoint sets none (Standard Webhooks recommends 15–30 s). */
export const DEFAULT_TIMEOUT_MS = 15_000;
