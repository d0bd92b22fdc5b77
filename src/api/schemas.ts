import { z } from 'zod';
import { CIRCUIT_BOUNDS } from '../domain/circuit.js';
import { filterProblems, type FilterGroup } from '../domain/filters.js';
import { RETRY_BOUNDS } from '../domain/retry.js';
import { isValidEventPattern, isValidEventType } from '../domain/routing.js';

/** Request bodies, as in the guide. These schemas are what validates requests. */

const httpUrl = z.string().superRefine((value, ctx) => {
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
    strategy: z.enum(['exponential', 'linear', 'fixed', 'custom']).optional(),
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

/**
 * Filters are checked by one function that reports shape and meaning together (value types,
 * regex safety, depth), so a bad filter gets every problem listed at once.
 */
export const filtersSchema = z
  .unknown()
  .superRefine((filter, ctx) => {
    for (const [path, message] of filterProblems(filter)) ctx.addIssue({ code: 'custom', path, message });
  })
  .transform((filter) => filter as FilterGroup);

export const createEndpointSchema = z.object({
  name: z.string().trim().min(1).max(200),
  url: httpUrl,
  events: z
    .array(
      z.string().refine(isValidEventPattern, {
        message: 'must be an event type (order.created), a prefix wildcard (order.*) or *',
      }),
    )
    .min(1)
    .max(100),
  headers: z.record(z.string(), z.string().max(4096)).default({}),
  security: z
    .object({
      secret: z.string().min(8).max(200).optional(),
      signatureHeader: z
        .string()
        .regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')
        .max(100)
        .optional(),
    })
    .default({}),
  timeout: z.number().int().min(1000).max(60_000).optional(),
  retryConfig: retryConfigSchema.optional(),
  filters: filtersSchema.optional(),
  circuitBreaker: circuitBreakerSchema.optional(),
  enabled: z.boolean().default(true),
});

export const createEventSchema = z.object({
  type: z.string().refine(isValidEventType, { message: 'must be a dotted event type such as order.created' }),
  source: z.string().max(200).optional(),
  payload: z.unknown().refine((v) => v !== undefined, { message: 'is required' }),
  options: z
    .object({
      priority: z.enum(['high', 'normal', 'low']).optional(),
      delay: z.number().int().min(0).optional(),
      tags: z.array(z.string().max(100)).max(50).optional(),
      idempotencyKey: z.string().max(200).optional(),
    })
    .default({}),
});
