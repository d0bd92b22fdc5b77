import { Router } from 'express';
import { z } from 'zod';
import { findDeadLetters, type DeadLetter } from '../db/dead-letters.js';
import type { Db } from '../db/pool.js';
import type { Replay } from '../replay/replay.js';
import type { ApiDocs } from './docs.js';
import { ID_SHAPES, idParam, queryDate, text } from './input.js';
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
  kind: d.kind,
  stoppedBy: d.stoppedBy,
  workflowRunId: d.workflowRunId,
  resolvedAt: d.resolvedAt?.toISOString() ?? null,
  resolution: d.resolution,
  resolvedVia: d.resolvedVia,
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
  /** Resolved: a later run of its delivery (a reset or a replay) delivered it or dead-lettered it again. */
  resolved: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Bulk replay: every not-yet-replayed dead letter matching the filter, at most `limit`. */
export const bulkReplaySchema = z
  .object({ ...filterFields, limit: z.number().int().min(1).max(1000).default(1000) })
  .strict();

export function deadLetterRoutes({ db, replay, docs }: { db: Db; replay: Replay; docs: ApiDocs }): Router {
  const router = Router();
  const r = docs.on(router, '/api/dead-letters');
  router.param('id', idParam(ID_SHAPES.deadLetter, 'dead letter'));

  r.get(
    '/',
    { summary: 'List dead letters', query: deadLetterQuerySchema, responses: { 200: 'The dead letters' } },
    async (req, res, { query }) => {
      const { replayed, resolved, ...q } = query;
      const rows = await findDeadLetters(db, req.applicationId, {
        ...q,
        ...(replayed ? { replayed: replayed === 'true' } : {}),
        ...(resolved ? { resolved: resolved === 'true' } : {}),
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
    async (req, res, { body }) => {
      const { started, skipped } = await replay.replayDeadLetters(req.applicationId, body);
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
      const r = await replay.replayDeadLetterById(req.applicationId, req.params.id);
      if (!r) throw notFound('dead letter');
      if ('refused' in r)
        throw new HttpProblem(409, r.refused === 'busy' ? 'Still delivering' : 'Already replayed', r.reason);
      res.status(202).json({
        deadLetterId: req.params.id,
        deliveryId: r.deliveryId,
        run: r.run,
        workflowId: r.deliveryId,
      });
    },
  );

  return router;
}
