import { Router, type Request, type Response } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/pool.js';
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

/** Queue sizes from Temporal (task backlogs) and the query model (deliveries waiting). */
async function queues({ db, temporal, namespace, taskQueue }: ObservabilityDeps, applicationId: string) {
  const [backlog, waiting, undispatched] = await Promise.all([
    taskQueueBacklog({ temporal, namespace, taskQueue }).catch(() => ({
      workflowTasks: null,
      activityTasks: null,
    })),
    db.query<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM deliveries
       WHERE application_id = $1 AND status IN ('pending', 'retrying', 'waiting_circuit') GROUP BY status`,
      [applicationId],
    ),
    db.query<{ n: string; oldest: number | null }>(
      `SELECT count(*) AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest
       FROM events WHERE dispatched_at IS NULL AND application_id = $1`,
      [applicationId],
    ),
  ]);
  const by = Object.fromEntries(waiting.rows.map((r) => [r.status, Number(r.n)]));
  return {
    workflowTasks: backlog.workflowTasks,
    activityTasks: backlog.activityTasks,
    pending: by.pending ?? 0,
    retrying: by.retrying ?? 0,
    waitingCircuit: by.waiting_circuit ?? 0,
    /** Accepted events whose workflow has not started yet (Temporal down, or a burst). */
    pendingDispatch: Number(undispatched.rows[0]?.n ?? 0),
    oldestPendingDispatchSeconds: Math.max(0, Math.round(undispatched.rows[0]?.oldest ?? 0)),
  };
}

/** The last `seconds` of the application's traffic: events/s, success rate, mean response time. */
async function recent(db: Db, applicationId: string, seconds: number) {
  const { rows } = await db.query<{ events: string; attempts: string; ok: string; avg: string | null }>(
    `SELECT
       (SELECT count(*) FROM events WHERE application_id = $1 AND created_at > now() - make_interval(secs => $2)) AS events,
       count(a.*) AS attempts,
       count(a.*) FILTER (WHERE a.outcome = 'delivered') AS ok,
       avg(a.duration_ms) AS avg
     FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
     WHERE d.application_id = $1 AND a.started_at > now() - make_interval(secs => $2)`,
    [applicationId, seconds],
  );
  const r = rows[0]!;
  const attempts = Number(r.attempts);
  return {
    eventsPerSecond: Number(r.events) / seconds,
    successRate: attempts === 0 ? null : Number(r.ok) / attempts,
    averageResponseMs: r.avg === null ? null : Math.round(Number(r.avg)),
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
        deps.db.query<{
          id: string;
          name: string;
          total: string;
          ok: string;
          avg: string | null;
          last: Date | null;
        }>(
          `SELECT e.id, e.name, count(a.*) AS total, count(a.*) FILTER (WHERE a.outcome = 'delivered') AS ok,
                avg(a.duration_ms) AS avg, max(a.started_at) AS last
         FROM endpoints e
         LEFT JOIN deliveries d ON d.endpoint_id = e.id
         LEFT JOIN delivery_attempts a ON a.delivery_id = d.id
         WHERE e.application_id = $1 GROUP BY e.id, e.name ORDER BY e.id`,
          [req.applicationId],
        ),
      ]);
      res.json({
        queues: q,
        endpoints: endpoints.rows.map((e) => ({
          endpointId: e.id,
          name: e.name,
          total: Number(e.total),
          successes: Number(e.ok),
          failures: Number(e.total) - Number(e.ok),
          averageResponseMs: e.avg === null ? null : Math.round(Number(e.avg)),
          lastActivityAt: e.last?.toISOString() ?? null,
        })),
      });
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
            recent(deps.db, req.applicationId, 60),
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
