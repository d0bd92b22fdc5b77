import { Router } from 'express';
import { deliveryExists, listAttempts } from '../db/deliveries.js';
import type { Db } from '../db/pool.js';
import type { ApiDocs } from './docs.js';
import { ID_SHAPES, idParam } from './input.js';
import { notFound } from './problem.js';

export function deliveryRoutes(db: Db, docs: ApiDocs): Router {
  const router = Router();
  const r = docs.on(router, '/api/deliveries');
  router.param('id', idParam(ID_SHAPES.delivery, 'delivery'));

  /** Every attempt of a delivery, all runs (0 original, 1.. replays), oldest first. */
  r.get(
    '/:id/attempts',
    { summary: 'Every attempt of a delivery, all runs', responses: { 200: 'The attempts' } },
    async (req, res) => {
      if (!(await deliveryExists(db, req.params.id, req.applicationId))) throw notFound('delivery');
      const attempts = await listAttempts(db, req.params.id);
      res.json({
        data: attempts.map((a) => ({ ...a, startedAt: a.startedAt.toISOString() })),
      });
    },
  );

  return router;
}
