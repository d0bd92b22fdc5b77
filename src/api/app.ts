import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/pool.js';
import { adminRoutes, requireAdminToken } from './admin.js';
import { dashboardRoutes } from './dashboard.js';
import { ApiDocs } from './docs.js';
import type { PluginHost } from '../plugins/host.js';
import { metricsAuthorized, requireApiKey } from './auth.js';
import { observabilityRoutes } from './observability.js';
import { taskQueueBacklog, type Metrics } from '../metrics.js';
import { rateLimit } from './rate-limit.js';
import { deadLetterRoutes } from './dead-letters.js';
import { deliveryRoutes } from './deliveries.js';
import { endpointRoutes } from './endpoints.js';
import { eventRoutes } from './events.js';
import { jsonBody } from './input.js';
import { errorHandler, HttpProblem } from './problem.js';

export interface AppDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  adminToken: string | undefined;
  namespace: string;
  /** Requests a second per API key; 0 turns the limit off. */
  rateLimit: number;
  metrics: Metrics;
  temporalUiUrl?: string | undefined;
  log: Logger;
  /** Loaded plugins: their ingest middleware runs before an event is stored. */
  plugins?: PluginHost;
  /** When set, GET /metrics needs `Authorization: Bearer <token>` (HOOKLINE_METRICS_TOKEN). */
  metricsToken?: string | undefined;
}

/** The HTTP API, without `listen`, so tests run it on port 0. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  // Every request gets an id (the caller's X-Request-Id when it is sane), echoed and logged.
  app.use((req, res, next) => {
    const given = req.header('x-request-id');
    const requestId = given && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    res.on('finish', () => {
      deps.log.info(
        {
          requestId,
          method: req.method,
          path: req.path,
          status: res.statusCode,
          durationMs: Math.round(performance.now() - started),
          applicationId: req.applicationId,
        },
        'request',
      );
    });
    next();
  });

  /** 200 when the database, Temporal and a polling worker are all there; else 503 naming what is not. */
  app.get('/health', async (_req, res) => {
    const check = async (fn: () => Promise<unknown>) =>
      fn().then(
        (v) => (v === false ? 'down' : 'ok'),
        () => 'down',
      );
    const [database, temporal, worker] = await Promise.all([
      check(() => deps.db.query('SELECT 1')),
      check(() => deps.temporal.workflowService.getSystemInfo({})),
      check(async () => {
        const b = await taskQueueBacklog({
          temporal: deps.temporal,
          namespace: deps.namespace,
          taskQueue: deps.taskQueue,
        });
        return b.workflowPollers > 0;
      }),
    ]);
    const parts = { api: 'ok', database, temporal, worker };
    const failing = Object.entries(parts)
      .filter(([, v]) => v !== 'ok')
      .map(([k]) => k);
    res
      .status(failing.length ? 503 : 200)
      .json({ status: failing.length ? 'unhealthy' : 'ok', ...parts, failing });
  });

  app.get('/metrics', async (req, res) => {
    if (!metricsAuthorized(deps.metricsToken, req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new HttpProblem(401, 'Unauthorized', 'GET /metrics needs Authorization: Bearer <metrics token>');
    }
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  const docs = new ApiDocs();
  const openapi = () => docs.document();
  app.get('/openapi.json', (_req, res) => void res.json(openapi()));
  app.use(dashboardRoutes());

  const admin = express.Router();
  admin.use(requireAdminToken(deps.adminToken));
  admin.use(jsonBody('64kb'));
  admin.use(adminRoutes(deps.db, docs));
  app.use('/api/admin', admin);

  const api = express.Router();
  api.use(requireApiKey(deps.db));
  api.use(rateLimit({ perSecond: deps.rateLimit, burst: deps.rateLimit * 2 }));
  api.use(jsonBody('10mb'));
  api.use('/endpoints', endpointRoutes(deps.db, deps.temporal, docs));
  api.use('/dead-letters', deadLetterRoutes({ ...deps, docs }));
  api.use('/deliveries', deliveryRoutes(deps.db, docs));
  api.use('/events', eventRoutes({ ...deps, docs }));
  api.use(observabilityRoutes({ ...deps, docs }));
  api.use((_req, _res, next) => next(new HttpProblem(404, 'Not found', 'no such route')));

  app.use('/api', api);
  app.use(errorHandler((err) => deps.log.error({ err }, 'request failed')));
  return app;
}
