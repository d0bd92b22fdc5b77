import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/pool.js';
import { adminRoutes, requireAdminToken } from './admin.js';
import { createApplicationService } from '../applications/service.js';
import { dashboardRoutes } from './dashboard.js';
import { ApiDocs } from './docs.js';
import type { Ingest } from '../ingest/accept.js';
import { keyLookup, metricsAuthorized, requireApiKey } from './auth.js';
import { observabilityRoutes } from './observability.js';
import { createStats } from '../observability/stats.js';
import type { Metrics } from '../metrics.js';
import { checkHealth } from '../health.js';
import { rateLimit } from './rate-limit.js';
import { deadLetterRoutes } from './dead-letters.js';
import { deliveryRoutes } from './deliveries.js';
import { endpointRoutes } from './endpoints.js';
import { eventRoutes } from './events.js';
import { createEndpointService } from '../endpoints/service.js';
import { createReplay } from '../replay/replay.js';
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
  /** How long Temporal keeps closed workflows: older ones get no UI link. */
  temporalRetentionMs?: number | undefined;
  log: Logger;
  /** Event intake: validation, idempotency, plugins' ingest middleware, the commit, dispatch. */
  ingest: Ingest;
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

  app.get('/health', async (_req, res) => {
    const { httpStatus, body } = await checkHealth(deps);
    res.status(httpStatus).json(body);
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
  const keys = keyLookup(deps.db);
  admin.use(adminRoutes(createApplicationService({ db: deps.db, keysChanged: keys.forget }), docs));
  app.use('/api/admin', admin);

  const api = express.Router();
  // The token is taken when the request arrives, before anything waits for the database.
  api.use(rateLimit({ perSecond: deps.rateLimit, burst: deps.rateLimit * 2 }));
  api.use(requireApiKey(keys));
  api.use(jsonBody('10mb'));
  api.use('/endpoints', endpointRoutes(createEndpointService(deps), docs));
  const replay = createReplay(deps);
  api.use('/dead-letters', deadLetterRoutes({ db: deps.db, replay, docs }));
  api.use('/deliveries', deliveryRoutes(deps.db, docs));
  api.use('/events', eventRoutes({ ...deps, replay, docs }));
  api.use(observabilityRoutes(createStats(deps), docs));
  api.use((_req, _res, next) => next(new HttpProblem(404, 'Not found', 'no such route')));

  app.use('/api', api);
  app.use(errorHandler((err) => deps.log.error({ err }, 'request failed')));
  return app;
}
