import { Router, type Request, type Response } from 'express';
import type { Stats } from '../observability/stats.js';
import type { ApiDocs } from './docs.js';

export function observabilityRoutes(stats: Stats, docs: ApiDocs): Router {
  const router = Router();
  const r = docs.on(router, '/api');

  r.get(
    '/stats',
    { summary: 'Queue statistics and per-endpoint statistics', responses: { 200: 'Statistics' } },
    async (req, res) => {
      res.json(await stats.overview(req.applicationId));
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
          const frame = await stats.recent(req.applicationId, 60);
          res.write(
            `event: metrics\ndata: ${JSON.stringify({ at: new Date().toISOString(), ...frame })}\n\n`,
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
