import { Router } from 'express';
import type { Client } from '@temporalio/client';
import {
  endpointStats,
  getEndpoint,
  insertEndpoint,
  listEndpoints,
  rotateSecret,
  type Endpoint,
} from '../db/endpoints.js';
import { newId } from '../db/ids.js';
import type { Db } from '../db/pool.js';
import type { ApiDocs } from './docs.js';
import { resolveCircuitConfig } from '../domain/circuit.js';
import { DEFAULT_TIMEOUT_MS } from '../domain/outcome.js';
import { resolveRetryConfig } from '../domain/retry.js';
import { generateSecret } from '../domain/signing.js';
import { createEndpointBreakers } from '../endpoints/breaker.js';
import { ID_SHAPES, idParam } from './input.js';
import { keysetPage } from './pagination.js';
import { notFound } from './problem.js';
import {
  createEndpointSchema,
  pageQuerySchema,
  rotateSecretSchema,
  updateEndpointSchema,
} from './schemas.js';

/** The endpoint as the API shows it; the secret only when `withSecret` (creation, rotation). */
export function endpointView(e: Endpoint, withSecret = false) {
  return {
    id: e.id,
    name: e.name,
    url: e.url,
    events: e.events,
    headers: e.headers,
    security: {
      signatureHeader: e.signatureHeader,
      ...(withSecret ? { secret: e.secret } : {}),
      previousSecretsExpireAt: e.previousSecrets.map((p) => new Date(p.expiresAt).toISOString()),
    },
    timeout: e.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retryConfig: resolveRetryConfig(e.retryConfig),
    circuitBreaker: resolveCircuitConfig(e.circuitBreaker),
    filters: e.filters,
    rateLimit: e.rateLimit,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

export function endpointRoutes(db: Db, temporal: Client, docs: ApiDocs): Router {
  const router = Router();
  const r = docs.on(router, '/api/endpoints');
  router.param('id', idParam(ID_SHAPES.endpoint, 'endpoint'));

  const breakers = createEndpointBreakers({ db, temporal });

  const load = async (applicationId: string, id: string) => {
    const endpoint = await getEndpoint(db, applicationId, id);
    if (!endpoint) throw notFound('endpoint');
    return endpoint;
  };

  r.post(
    '/',
    {
      summary: 'Create an endpoint',
      body: createEndpointSchema,
      responses: { 201: 'The endpoint, with its secret' },
    },
    async (req, res, { body }) => {
      const endpoint = await insertEndpoint(db, {
        id: newId('ep'),
        applicationId: req.applicationId,
        name: body.name,
        url: body.url,
        events: [...new Set(body.events)],
        headers: body.headers ?? {},
        secret: body.security?.secret ?? generateSecret(),
        signatureHeader: body.security?.signatureHeader ?? null,
        timeoutMs: body.timeout ?? null,
        retryConfig: body.retryConfig ?? null,
        circuitBreaker: body.circuitBreaker ?? null,
        filters: body.filters ?? null,
        rateLimit: body.rateLimit ?? null,
        enabled: body.enabled ?? true,
      });
      res.status(201).location(`/api/endpoints/${endpoint.id}`).json(endpointView(endpoint, true));
    },
  );

  r.get(
    '/',
    {
      summary: 'List endpoints, a page at a time',
      query: pageQuerySchema,
      responses: { 200: 'A page of endpoints and nextCursor' },
    },
    async (req, res, { query }) => {
      const { limit, cursor } = query;
      res.json(
        await keysetPage(
          limit,
          (n) => listEndpoints(db, req.applicationId, { limit: n, cursor }),
          (e) => endpointView(e),
        ),
      );
    },
  );

  r.get('/:id', { summary: 'Get an endpoint', responses: { 200: 'The endpoint' } }, async (req, res) => {
    res.json(endpointView(await load(req.applicationId, req.params.id)));
  });

  r.patch(
    '/:id',
    {
      summary: 'Change some fields of an endpoint',
      body: updateEndpointSchema,
      responses: { 200: 'The endpoint' },
    },
    async (req, res, { body: b }) => {
      const before = await load(req.applicationId, req.params.id);
      const updated = await breakers.update(before, {
        name: b.name,
        url: b.url,
        events: b.events && [...new Set(b.events)],
        headers: b.headers,
        signatureHeader: b.security?.signatureHeader,
        timeoutMs: b.timeout,
        retryConfig: b.retryConfig,
        circuitBreaker: b.circuitBreaker,
        filters: b.filters,
        rateLimit: b.rateLimit,
        enabled: b.enabled,
      });
      if (!updated) throw notFound('endpoint');
      res.json(endpointView(updated));
    },
  );

  r.delete(
    '/:id',
    {
      summary: 'Delete an endpoint; its in-flight deliveries end as dead letters',
      responses: { 204: 'Deleted' },
    },
    async (req, res) => {
      if (!(await breakers.remove(req.applicationId, req.params.id))) throw notFound('endpoint');
      res.status(204).end();
    },
  );

  /** A new current secret (given or generated); the old one keeps signing for `gracePeriod` seconds. */
  r.post(
    '/:id/secret/rotate',
    {
      summary: 'Rotate the signing secret, keeping the old one for a grace period',
      body: rotateSecretSchema,
      responses: { 200: 'The endpoint, with its new secret' },
    },
    async (req, res, { body }) => {
      await load(req.applicationId, req.params.id);
      const rotated = await rotateSecret(
        db,
        req.applicationId,
        req.params.id,
        body.secret ?? generateSecret(),
        body.gracePeriod * 1000,
      );
      if (!rotated) throw notFound('endpoint');
      res.json(endpointView(rotated, true));
    },
  );

  r.get(
    '/:id/stats',
    {
      summary: 'Attempt statistics of an endpoint',
      responses: { 200: 'Totals, successes, failures, average response time' },
    },
    async (req, res) => {
      const endpoint = await load(req.applicationId, req.params.id);
      const stats = await endpointStats(db, endpoint.id);
      res.json({
        endpointId: endpoint.id,
        ...stats,
        lastActivityAt: stats.lastActivityAt?.toISOString() ?? null,
      });
    },
  );

  /** The breaker's state, asked of its workflow (the only writer); closed if it never started. */
  r.get(
    '/:id/circuit',
    { summary: "The endpoint's circuit breaker", responses: { 200: 'State, failures, waiting deliveries' } },
    async (req, res) => {
      res.json(await breakers.circuit(await load(req.applicationId, req.params.id)));
    },
  );

  return router;
}
