import { RETRY_STRATEGIES } from '../domain/vocabulary.js';
import { z } from 'zod';
import { CIRCUIT_BOUNDS } from '../domain/circuit.js';
import { filterProblems, type FilterGroup } from '../domain/filters.js';
import { RETRY_BOUNDS } from '../domain/retry.js';
import { DEFAULT_BURST, RATE_LIMIT_BOUNDS } from '../domain/throttle.js';
import { EVENT_PATTERN_PATTERN, isValidEventPattern } from '../domain/routing.js';
import { refuseUnstorable, text } from './input.js';

/** Request bodies, as in the guide. These schemas are what validates requests. */

const httpUrl = text(2048)
  .meta({ format: 'uri', pattern: '^https?://' })
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: 'must use http or https' });
    }
    if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'must not carry credentials; use headers instead' });
    }
  });

const int = (b: { min: number; max: number }) => z.number().int().min(b.min).max(b.max);

export const retryConfigSchema = z
  .object({
    maxAttempts: int(RETRY_BOUNDS.maxAttempts).optional(),
    strategy: z.enum(RETRY_STRATEGIES).optional(),
    baseDelay: int(RETRY_BOUNDS.baseDelay).optional(),
    maxDelay: int(RETRY_BOUNDS.maxDelay).optional(),
    jitter: z.boolean().optional(),
    schedule: z
      .array(int(RETRY_BOUNDS.scheduleEntry))
      .min(RETRY_BOUNDS.scheduleLength.min)
      .max(RETRY_BOUNDS.scheduleLength.max)
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.strategy === 'custom' && !c.schedule) {
      ctx.addIssue({ code: 'custom', path: ['schedule'], message: 'is required for the custom strategy' });
    }
    if (c.schedule && c.strategy !== 'custom') {
      ctx.addIssue({ code: 'custom', path: ['schedule'], message: 'is only used by the custom strategy' });
    }
    if (c.baseDelay !== undefined && c.maxDelay !== undefined && c.maxDelay < c.baseDelay) {
      ctx.addIssue({ code: 'custom', path: ['maxDelay'], message: 'must not be less than baseDelay' });
    }
  });

export const circuitBreakerSchema = z
  .object({
    threshold: int(CIRCUIT_BOUNDS.threshold).optional(),
    cooldown: int(CIRCUIT_BOUNDS.cooldown).optional(),
  })
  .strict();

/** Deliveries a second (fractions allowed) and the burst; the burst defaults to 1 (strict spacing). */
export const rateLimitSchema = z
  .object({
    perSecond: z.number().min(RATE_LIMIT_BOUNDS.perSecond.min).max(RATE_LIMIT_BOUNDS.perSecond.max),
    burst: int(RATE_LIMIT_BOUNDS.burst).default(DEFAULT_BURST),
  })
  .strict();

/**
 * Filters are checked by one function that reports shape and meaning together (value types,
 * regex safety, depth), so a bad filter gets every problem listed at once.
 */
export const filtersSchema = z
  .unknown()
  .superRefine(refuseUnstorable)
  .superRefine((filter, ctx) => {
    for (const [path, message] of filterProblems(filter)) ctx.addIssue({ code: 'custom', path, message });
  })
  .transform((filter) => filter as FilterGroup);

/** Headers Hookline sets itself; an endpoint's custom headers may not override them. */
export const RESERVED_HEADERS = [
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'host',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
];

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const headersSchema = z.record(text(100), text(4096)).superRefine((headers, ctx) => {
  const names = Object.keys(headers);
  if (names.length > 50) ctx.addIssue({ code: 'custom', message: 'at most 50 headers' });
  for (const name of names) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name))
      ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid header name' });
    else if (RESERVED_HEADERS.includes(lower) || lower.startsWith('x-hookline-')) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'is set by Hookline and cannot be overridden' });
    }
    if (/[\r\n\0]/.test(headers[name]!)) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'must not contain line breaks' });
    }
  }
});

const signatureHeaderSchema = text(100)
  .regex(HEADER_NAME, 'must be an HTTP header name')
  .max(100)
  .refine((h) => !RESERVED_HEADERS.includes(h.toLowerCase()), 'cannot be a header Hookline sets');

/** Every endpoint field, none defaulted: a PATCH is this schema with everything optional. */
const endpointFields = {
  name: text(200).trim().min(1),
  url: httpUrl,
  events: z
    .array(
      text(200)
        .refine(isValidEventPattern, {
          message: 'must be an event type (order.created), a prefix wildcard (order.*) or *',
        })
        .meta({ pattern: EVENT_PATTERN_PATTERN }),
    )
    .min(1)
    .max(100),
  headers: headersSchema,
  security: z
    .object({
      secret: text(200).min(8).optional(),
      signatureHeader: signatureHeaderSchema.optional(),
    })
    .strict(),
  timeout: z.number().int().min(1000).max(60_000),
  retryConfig: retryConfigSchema,
  circuitBreaker: circuitBreakerSchema,
  filters: filtersSchema,
  rateLimit: rateLimitSchema,
  enabled: z.boolean(),
};

/** A custom signature header must not also be sent as a custom header. */
function signatureHeaderNotInHeaders(
  body: {
    headers?: Record<string, string> | undefined;
    security?: { signatureHeader?: string | undefined } | undefined;
  },
  ctx: z.RefinementCtx,
) {
  const sig = body.security?.signatureHeader?.toLowerCase();
  if (!sig) return; // the default, X-Hookline-Signature, is reserved with every X-Hookline-* header
  for (const name of Object.keys(body.headers ?? {})) {
    if (name.toLowerCase() === sig) {
      ctx.addIssue({
        code: 'custom',
        path: ['headers', name],
        message: 'is the signature header and cannot be overridden',
      });
    }
  }
}

export const createEndpointSchema = z
  .object({
    ...endpointFields,
    headers: endpointFields.headers.optional(),
    security: endpointFields.security.optional(),
    timeout: endpointFields.timeout.optional(),
    retryConfig: endpointFields.retryConfig.optional(),
    circuitBreaker: endpointFields.circuitBreaker.optional(),
    filters: endpointFields.filters.optional(),
    rateLimit: endpointFields.rateLimit.nullable().optional(),
    enabled: endpointFields.enabled.optional(),
  })
  .strict()
  .superRefine(signatureHeaderNotInHeaders);

export const updateEndpointSchema = z
  .object({
    name: endpointFields.name.optional(),
    url: endpointFields.url.optional(),
    events: endpointFields.events.optional(),
    headers: endpointFields.headers.optional(),
    security: z.object({ signatureHeader: signatureHeaderSchema.nullable().optional() }).strict().optional(),
    timeout: endpointFields.timeout.nullable().optional(),
    retryConfig: endpointFields.retryConfig.nullable().optional(),
    circuitBreaker: endpointFields.circuitBreaker.nullable().optional(),
    filters: endpointFields.filters.nullable().optional(),
    rateLimit: endpointFields.rateLimit.nullable().optional(),
    enabled: endpointFields.enabled.optional(),
  })
  .strict()
  .superRefine((b, ctx) =>
    signatureHeaderNotInHeaders(
      { headers: b.headers, security: { signatureHeader: b.security?.signatureHeader ?? undefined } },
      ctx,
    ),
  );

export const rotateSecretSchema = z
  .object({
    secret: text(200).min(8).optional(),
    /** Seconds the old secret keeps signing; 0 drops it at once. */
    gracePeriod: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .default(24 * 3600),
  })
  .strict();

export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: text(100).optional(),
});

// The event as intake accepts it is the intake's (src/ingest/event.ts); documented here too.
export { createEventSchema, type CreateEvent } from '../ingest/event.js';
