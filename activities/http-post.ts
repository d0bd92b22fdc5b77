import { isIP } from 'node:net';
import { errors, request, type Dispatcher } from 'undici';
import {
  classifyError,
  classifyStatus,
  DEFAULT_TIMEOUT_MS,
  type AttemptOutcome,
  type ErrorClass,
} from '../src/domain/outcome.js';
import { parseRetryAfter } from '../src/domain/retry.js';
import { signatureHeaders } from '../src/domain/signing.js';
import { webhookMessageId } from '../src/domain/ids.js';
import type { Endpoint } from '../src/db/endpoints.js';
import type { StoredEvent } from '../src/db/events.js';
import { VERSION } from '../src/version.js';
import { isPrivateAddress, SsrfError } from './network.js';

/** How much of a receiver's response is kept with the attempt. */
export const RESPONSE_BODY_LIMIT = 4096;

export interface HttpAttempt {
  outcome: AttemptOutcome;
  statusCode: number | null;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  responseBody: string | null;
  /** The response's headers (a bounded number of them), for the attempt record. */
  responseHeaders: Record<string, string> | null;
  durationMs: number;
  /** The response's Retry-After in ms from now, when it had a valid one. */
  retryAfterMs: number | null;
}

const RESPONSE_HEADERS_LIMIT = 50;

function headerExcerpt(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers).slice(0, RESPONSE_HEADERS_LIMIT)) {
    if (value === undefined || name === 'set-cookie') continue;
    out[name] = (Array.isArray(value) ? value.join(', ') : value).slice(0, 512);
  }
  return out;
}

export function buildRequestHeaders(
  event: StoredEvent,
  endpoint: Endpoint,
  nowMs: number,
): Record<string, string> {
  return {
    ...endpoint.headers,
    'Content-Type': 'application/json',
    'User-Agent': `Hookline/${VERSION}`,
    ...signatureHeaders({
      webhookId: webhookMessageId(event.id, endpoint.id),
      eventId: event.id,
      eventType: event.type,
      timestampSeconds: Math.floor(nowMs / 1000),
      body: event.body,
      // During a rotation the previous secrets sign too, until they expire.
      secrets: [
        endpoint.secret,
        ...endpoint.previousSecrets.filter((p) => p.expiresAt > nowMs).map((p) => p.secret),
      ],
      signatureHeader: endpoint.signatureHeader,
    }),
  };
}

async function readBounded(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= RESPONSE_BODY_LIMIT) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString('utf8');
}

function errorClassOf(err: unknown): ErrorClass {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if (e instanceof SsrfError || (e as { code?: string }).code === 'HOOKLINE_SSRF') return 'ssrf';
    if (e instanceof errors.HeadersTimeoutError || e instanceof errors.BodyTimeoutError) return 'timeout';
    if (e instanceof errors.ConnectTimeoutError) return 'timeout';
    const code = (e as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
    if ((e as { name?: string }).name === 'TimeoutError') return 'timeout';
  }
  return 'connection';
}

/** One signed POST. Every outcome, including transport errors, comes back as data. */
export async function postWebhook(
  dispatcher: Dispatcher,
  event: StoredEvent,
  endpoint: Endpoint,
  allowPrivateNetworks: boolean,
): Promise<HttpAttempt> {
  const started = performance.now();
  const timeoutMs = endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const done = (a: Omit<HttpAttempt, 'durationMs'>): HttpAttempt => ({
    ...a,
    durationMs: Math.round(performance.now() - started),
  });
  const failure = (errorClass: ErrorClass, message: string) =>
    done({
      outcome: classifyError(errorClass),
      statusCode: null,
      errorClass,
      errorMessage: message,
      responseBody: null,
      responseHeaders: null,
      retryAfterMs: null,
    });

  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    return failure('config', `invalid endpoint URL ${endpoint.url}`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivateNetworks && isIP(host) && isPrivateAddress(host)) {
    return failure('ssrf', new SsrfError(host, host).message);
  }
  try {
    const res = await request(url, {
      method: 'POST',
      dispatcher,
      headers: buildRequestHeaders(event, endpoint, Date.now()),
      body: event.body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const responseBody = await readBounded(res.body).catch(() => '');
    const retryAfter = res.headers['retry-after'];
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    return done({
      outcome: classifyStatus(res.statusCode),
      statusCode: res.statusCode,
      errorClass: ok ? null : 'http',
      errorMessage: ok ? null : `HTTP ${res.statusCode}`,
      responseBody,
      responseHeaders: headerExcerpt(res.headers),
      retryAfterMs: typeof retryAfter === 'string' ? parseRetryAfter(retryAfter, Date.now()) : null,
    });
  } catch (err) {
    const errorClass = errorClassOf(err);
    return failure(errorClass, err instanceof Error ? err.message : String(err));
  }
}
