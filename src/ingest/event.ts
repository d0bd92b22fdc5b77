// An event as intake accepts it: the schema the API documents and the intake validates with
// (a plugin's rewrite of an event passes it again).
import { z } from 'zod';
import { refuseUnstorable, text } from '../domain/input.js';
import { EVENT_TYPE_PATTERN, isValidEventType } from '../domain/routing.js';

export const createEventSchema = z.strictObject({
  type: text(200)
    .refine(isValidEventType, { message: 'must be a dotted event type such as order.created' })
    .meta({ pattern: EVENT_TYPE_PATTERN }),
  source: text(200).optional(),
  payload: z
    .unknown()
    .refine((v) => v !== undefined, { message: 'is required' })
    .superRefine(refuseUnstorable),
  options: z
    .object({
      priority: z.enum(['high', 'normal', 'low']).optional(),
      delay: z
        .number()
        .int()
        .min(0)
        .max(7 * 24 * 3600 * 1000)
        .optional(),
      tags: z.array(text(100)).max(50).optional(),
      idempotencyKey: text(200).optional(),
    })
    .default({}),
});

/** An event as the API accepts it, validated. */
export type CreateEvent = z.output<typeof createEventSchema>;
