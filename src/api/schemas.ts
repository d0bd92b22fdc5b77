import { z } from 'zod';
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
