import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/pool.js';
import { adminRoutes, requireAdminToken } from './admin.js';
import { dashboardRoutes } from './dashboard.js';
import { ApiDocs } from './docs.js';
import type { PluginHost } from '../plugins/host.js';
import { requireApiKey } from './auth.js';
import { observabilityRoutes } from './observability.js';
import type { Metrics } from '../metrics.js';
import { checkHealth } from '../health.js';
import { rateLimit } from './rate-limit.js';
import { deadLetterRoutes } from './dead-letters.js';
import { deliveryRoutes } from './deliveries.js';
import { endpointRoutes } from './endpoints.js';
import { eventRoutes } from './events.js';
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
}

/** A request with a body must send JSON; an empty body (e.g. a replay POST) needs no type. */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (['POST', 'PUT', 'PATCH'].includes(req.method) && hasBody && !req.is('json')) {
    return next(new HttpProblem(415, 'Unsupported media type', 'send the body as application/json'));
  }
  next();
};

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

  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  const docs = new ApiDocs();
  const openapi = () => docs.document();
  app.get('/openapi.json', (_req, res) => void res.json(openapi()));
  app.use(dashboardRoutes());

  const admin = express.Router();
  admin.use(requireAdminToken(deps.adminToken));
  admin.use(requireJsonBody);
  admin.use(express.json({ limit: '64kb' }));
  admin.use(adminRoutes(deps.db, docs));
  app.use('/api/admin', admin);

  const api = express.Router();
  // The token is taken when the request arrives, before anything waits for the database.
  api.use(rateLimit({ perSecond: deps.rateLimit, burst: deps.rateLimit * 2 }));
  api.use(requireApiKey(deps.db));
  api.use((req, _res, next) => {
    if (
      ['POST', 'PUT', 'PATCH'].includes(req.method) &&
      req.headers['content-length'] !== '0' &&
      !req.is('json')
    ) {
      return next(new HttpProblem(415, 'Unsupported media type', 'send the body as application/json'));
    }
    next();
  });
  api.use(express.json({ limit: '10mb' }));
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
