import { Router } from 'express';
import type { Client } from '@temporalio/client';
import { listDeliveriesOfEvent } from '../db/deliveries.js';
import { getEvent, insertEvent, setEventStatus } from '../db/events.js';
import { newId } from '../db/ids.js';
import type { Db } from '../db/pool.js';
import { eventWorkflowId } from '../domain/ids.js';
import { searchAttributes } from '../../workflows/definitions.js';
import { HttpProblem, notFound, validationProblem } from './problem.js';
import { createEventSchema } from './schemas.js';

export interface EventRouteDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
}

export function eventRoutes({ db, temporal, taskQueue }: EventRouteDeps): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const parsed = createEventSchema.safeParse(req.body);
    if (!parsed.success) throw validationProblem(parsed.error);
    const { type, source, payload, options } = parsed.data;
    const eventId = newId('evt');
    const applicationId = req.applicationId;
    // Stored before the workflow starts: the workflow reads the payload from here, and the 202
    // is only sent once both hold, so an accepted event is never lost.
    await insertEvent(db, {
      id: eventId,
      applicationId,
      type,
      source: source ?? null,
      body: JSON.stringify(payload),
      options,
      tags: options.tags ?? [],
    });
    const workflowId = eventWorkflowId(eventId);
    try {
      await temporal.workflow.start('eventWorkflow', {
        workflowId,
        taskQueue,
        args: [{ eventId, applicationId, eventType: type }],
        typedSearchAttributes: [
          { key: searchAttributes.applicationId, value: applicationId },
          { key: searchAttributes.eventType, value: type },
          { key: searchAttributes.eventId, value: eventId },
        ],
        memo: { eventId, eventType: type, source: source ?? null },
      });
    } catch (err) {
      await setEventStatus(db, eventId, 'not_started').catch(() => {});
      throw new HttpProblem(
        503,
        'Temporal unavailable',
        `the event was not accepted: ${(err as Error).message}`,
      );
    }
    res.status(202).location(`/api/events/${eventId}`).json({ eventId, status: 'accepted', workflowId });
  });

  router.get('/:id', async (req, res) => {
    const event = await getEvent(db, req.params.id, req.applicationId);
    if (!event) throw notFound('event');
    const deliveries = await listDeliveriesOfEvent(db, event.id);
    res.json({
      id: event.id,
      type: event.type,
      source: event.source,
      payload: JSON.parse(event.body) as unknown,
      options: event.options,
      tags: event.tags,
      status: event.status,
      matched: event.matched,
      createdAt: event.createdAt.toISOString(),
      workflowId: eventWorkflowId(event.id),
      deliveries: deliveries.map((d) => ({
        id: d.id,
        endpointId: d.endpointId,
        status: d.status,
        attempts: d.attempts,
        lastStatusCode: d.lastStatusCode,
        lastError: d.lastError,
        updatedAt: d.updatedAt.toISOString(),
      })),
    });
  });

  return router;
}
