import { Router } from 'express';
import type { Client } from '@temporalio/client';
import { claimReplay, getDeadLetter, listDeadLetters, type DeadLetter } from '../db/dead-letters.js';
import { getEvent } from '../db/events.js';
import type { Db } from '../db/pool.js';
import { deliveryWorkflowId } from '../domain/ids.js';
import { searchAttributes } from '../../workflows/definitions.js';
import { HttpProblem, notFound } from './problem.js';

const view = (d: DeadLetter) => ({
  id: d.id,
  deliveryId: d.deliveryId,
  eventId: d.eventId,
  endpointId: d.endpointId,
  run: d.run,
  attempts: d.attempts,
  reason: d.reason,
  lastStatusCode: d.lastStatusCode,
  lastError: d.lastError,
  createdAt: d.createdAt.toISOString(),
  replayedAt: d.replayedAt?.toISOString() ?? null,
  replayRun: d.replayRun,
});

export function deadLetterRoutes({
  db,
  temporal,
  taskQueue,
}: {
  db: Db;
  temporal: Client;
  taskQueue: string;
}): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const endpointId = typeof req.query.endpointId === 'string' ? req.query.endpointId : undefined;
    const rows = await listDeadLetters(db, req.applicationId, { endpointId });
    res.json({ data: rows.map(view) });
  });

  /** Delivers the dead letter's event to its endpoint again, with fresh attempts, as run n+1. */
  router.post('/:id/replay', async (req, res) => {
    const dead = await getDeadLetter(db, req.applicationId, req.params.id);
    if (!dead) throw notFound('dead letter');
    const event = await getEvent(db, dead.eventId, req.applicationId);
    if (!event) throw notFound('event');
    const run = await claimReplay(db, dead.id);
    if (run === undefined)
      throw new HttpProblem(409, 'Already replayed', `dead letter ${dead.id} was replayed`);
    const workflowId = deliveryWorkflowId(dead.eventId, dead.endpointId);
    await temporal.workflow.start('deliveryWorkflow', {
      workflowId,
      taskQueue,
      args: [{ eventId: dead.eventId, applicationId: req.applicationId, endpointId: dead.endpointId, run }],
      typedSearchAttributes: [
        { key: searchAttributes.applicationId, value: req.applicationId },
        { key: searchAttributes.eventType, value: event.type },
        { key: searchAttributes.eventId, value: event.id },
        { key: searchAttributes.endpointId, value: dead.endpointId },
        { key: searchAttributes.deliveryStatus, value: 'pending' },
      ],
      memo: { eventId: event.id, endpointId: dead.endpointId, eventType: event.type, replayOf: dead.id, run },
    });
    res.status(202).json({ deadLetterId: dead.id, deliveryId: workflowId, run, workflowId });
  });

  return router;
}
