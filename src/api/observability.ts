import { Router, type Request, type Response } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/pool.js';
import { endpointStats, recentTraffic, undispatchedEvents, waitingDeliveries } from '../db/stats.js';
import { taskQueueBacklog, type Metrics } from '../metrics.js';
import type { ApiDocs } from './docs.js';

export interface ObservabilityDeps {
  db: Db;
  temporal: Client;
  namespace: string;
  taskQueue: string;
  metrics: Metrics;
  docs: ApiDocs;
}

/** Queue sizes from Temporal (task backlogs) and the query model (deliveries and events waiting). */
async function queues({ db, temporal, namespace, taskQueue }: ObservabilityDeps, applicationId: string) {
  const [backlog, waiting, undispatched] = await Promise.all([
    taskQueueBacklog({ temporal, namespace, taskQueue }).catch(() => ({
      workflowTasks: null,
      activityTasks: null,
    })),
    waitingDeliveries(db, applicationId),
    undispatchedEvents(db, applicationId),
  ]);
  return {
    workflowTasks: backlog.workflowTasks,
    activityTasks: backlog.activityTasks,
    ...waiting,
    /** Accepted events whose workflow has not started yet (Temporal down, or a burst). */
    pendingDispatch: undispatched.pending,
    oldestPendingDispatchSeconds: undispatched.oldestSeconds,
  };
}

export function observabilityRoutes(deps: ObservabilityDeps): Router {
  const router = Router();
  const r = deps.docs.on(router, '/api');

  r.get(
    '/stats',
    { summary: 'Queue statistics and per-endpoint statistics', responses: { 200: 'Statistics' } },
    async (req, res) => {
      const [q, endpoints] = await Promise.all([
        queues(deps, req.applicationId),
        endpointStats(deps.db, req.applicationId),
      ]);
      res.json({ queues: q, endpoints });
    },
  );

  r.get(
    '/metrics/stream',
    {
      summary: 'Server-Sent Events: every second, the last minute of traffic and the queues',
      responses: { 200: 'text/event-stream' },
    },
    async (req: Request, res: Response) => {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      let busy = false;
      const push = async () => {
        if (busy) return;
        busy = true;
        try {
          const [traffic, q] = await Promise.all([
            recentTraffic(deps.db, req.applicationId, 60),
            queues(deps, req.applicationId),
          ]);
          res.write(
            `event: metrics\ndata: ${JSON.stringify({ at: new Date().toISOString(), ...traffic, queues: q })}\n\n`,
          );
        } catch (err) {
          res.write(`event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
        } finally {
          busy = false;
        }
      };
      void push();
      const timer = setInterval(() => void push(), 1000);
      req.on('close', () => clearInterval(timer));
    },
  );

  return router;
}
