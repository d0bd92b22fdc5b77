import { Router } from 'express';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import {
  claimReplay,
  findDeadLetters,
  getDeadLetter,
  releaseReplay,
  setReplayRun,
  type DeadLetter,
} from '../db/dead-letters.js';
import { claimNextRun } from '../db/deliveries.js';
import { getEvent } from '../db/events.js';
import type { Db } from '../db/pool.js';
import type { ApiDocs } from './docs.js';
import { runningDeliveryRun, startDeliveryWorkflow } from '../temporal/starts.js';
import { ID_SHAPES, idParam, queryDate, text } from './input.js';
import { HttpProblem, notFound, validationProblem } from './problem.js';

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

const filterFields = {
  endpointId: text(100).optional(),
  eventType: text(200).optional(),
  from: queryDate.optional(),
  to: queryDate.optional(),
};

export const deadLetterQuerySchema = z.object({
  ...filterFields,
  replayed: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Bulk replay: every not-yet-replayed dead letter matching the filter, at most `limit`. */
export const bulkReplaySchema = z
  .object({ ...filterFields, limit: z.number().int().min(1).max(1000).default(1000) })
  .strict();

export function deadLetterRoutes({
  db,
  temporal,
  taskQueue,
  docs,
}: {
  db: Db;
  temporal: Client;
  taskQueue: string;
  docs: ApiDocs;
}): Router {
  const router = Router();
  const r = docs.on(router, '/api/dead-letters');
  router.param('id', idParam(ID_SHAPES.deadLetter, 'dead letter'));

  type Replayed = { deliveryId: string; run: number } | { busy: string } | undefined;

  /**
   * Claims the dead letter once, starts a new run of its delivery with fresh attempts. A delivery
   * whose workflow still runs is not claimed (`busy` says why): the dead letter stays replayable.
   * A start that fails gives the claim back, so no replay is lost between the two stores.
   */
  async function replay(dead: DeadLetter): Promise<Replayed> {
    const event = await getEvent(db, dead.eventId, dead.applicationId);
    if (!event || dead.replayedAt) return undefined;
    const running = await runningDeliveryRun(temporal, dead.deliveryId, dead.run);
    if (running !== null) return { busy: `delivery ${dead.deliveryId} is still running (run ${running})` };
    if (!(await claimReplay(db, dead.id))) return undefined;
    const run = await claimNextRun(db, {
      id: dead.deliveryId,
      applicationId: dead.applicationId,
      eventId: dead.eventId,
      endpointId: dead.endpointId,
    });
    await setReplayRun(db, dead.id, run);
    try {
      await startDeliveryWorkflow(temporal, taskQueue, event, dead.endpointId, run, { replayOf: dead.id });
    } catch (err) {
      await releaseReplay(db, dead);
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        return { busy: `delivery ${dead.deliveryId} was started by another replay` };
      throw err;
    }
    return { deliveryId: dead.deliveryId, run };
  }

  r.get(
    '/',
    { summary: 'List dead letters', query: deadLetterQuerySchema, responses: { 200: 'The dead letters' } },
    async (req, res) => {
      const parsed = deadLetterQuerySchema.safeParse(req.query);
      if (!parsed.success) throw validationProblem(parsed.error);
      const { replayed, ...q } = parsed.data;
      const rows = await findDeadLetters(db, req.applicationId, {
        ...q,
        ...(replayed ? { replayed: replayed === 'true' } : {}),
      });
      res.json({ data: rows.map(view) });
    },
  );

  r.post(
    '/replay',
    {
      summary: 'Replay every dead letter matching a filter',
      body: bulkReplaySchema,
      responses: { 202: 'How many were replayed' },
    },
    async (req, res) => {
      const parsed = bulkReplaySchema.safeParse(req.body ?? {});
      if (!parsed.success) throw validationProblem(parsed.error);
      const matches = await findDeadLetters(db, req.applicationId, { ...parsed.data, replayed: false });
      const started = [];
      const skipped = [];
      for (const dead of matches) {
        const r = await replay(dead);
        if (r && 'busy' in r) skipped.push({ deadLetterId: dead.id, reason: r.busy });
        else if (r) started.push({ deadLetterId: dead.id, ...r });
      }
      res.status(202).json({ replayed: started.length, deliveries: started, skipped });
    },
  );

  r.post(
    '/:id/replay',
    {
      summary: 'Deliver a dead letter again with fresh attempts',
      responses: { 202: 'Replay started' },
      errors: { 409: 'Already replayed, or its delivery is still running' },
    },
    async (req, res) => {
      const dead = await getDeadLetter(db, req.applicationId, req.params.id);
      if (!dead) throw notFound('dead letter');
      const r = await replay(dead);
      if (!r) throw new HttpProblem(409, 'Already replayed', `dead letter ${dead.id} was replayed`);
      if ('busy' in r) throw new HttpProblem(409, 'Still delivering', r.busy);
      res
        .status(202)
        .json({ deadLetterId: dead.id, deliveryId: r.deliveryId, run: r.run, workflowId: r.deliveryId });
    },
  );

  return router;
}
