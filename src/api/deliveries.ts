import { Router } from 'express';
import { deliveryExists, listAttempts } from '../db/deliveries.js';
import type { Db } from '../db/pool.js';
import { notFound } from './problem.js';

export function deliveryRoutes(db: Db): Router {
  const router = Router();

  /** Every attempt of a delivery, all runs (0 original, 1.. replays), oldest first. */
  router.get('/:id/attempts', async (req, res) => {
    if (!(await deliveryExists(db, req.params.id, req.applicationId))) throw notFound('delivery');
    const attempts = await listAttempts(db, req.params.id);
    res.json({
      data: attempts.map((a) => ({ ...a, startedAt: a.startedAt.toISOString() })),
    });
  });

  return router;
}
