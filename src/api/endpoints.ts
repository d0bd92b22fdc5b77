import { Router } from 'express';
import type { z } from 'zod';
import type { Endpoint, EndpointChanges } from '../db/endpoints.js';
import type { ApiDocs } from './docs.js';
import { resolveCircuitConfig } from '../domain/circuit.js';
import { DEFAULT_TIMEOUT_MS } from '../domain/outcome.js';
import { resolveRetryConfig } from '../domain/retry.js';
import type { EndpointService } from '../endpoints/service.js';
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

/** The API's fields as the endpoint's (`timeout` is `timeoutMs`, `security.*` flat). */
const fieldsOf = (b: z.output<typeof updateEndpointSchema>): EndpointChanges => ({
  name: b.name,
  url: b.url,
  events: b.events,
  headers: b.headers,
  signatureHeader: b.security?.signatureHeader,
  timeoutMs: b.timeout,
  retryConfig: b.retryConfig,
  circuitBreaker: b.circuitBreaker,
  filters: b.filters,
  rateLimit: b.rateLimit,
  enabled: b.enabled,
});

/** Routes map HTTP to the endpoint service (src/endpoints/service.ts) and its answers back. */
export function endpointRoutes(endpoints: EndpointService, docs: ApiDocs): Router {
  const router = Router();
  const r = docs.on(router, '/api/endpoints');
  router.param('id', idParam(ID_SHAPES.endpoint, 'endpoint'));

  /** The endpoint, or 404 when the application has no such endpoint. */
  const found = <T>(value: T | undefined): T => {
    if (value === undefined) throw notFound('endpoint');
    return value;
  };

  r.post(
    '/',
    {
      summary: 'Create an endpoint',
      body: createEndpointSchema,
      responses: { 201: 'The endpoint, with its secret' },
    },
    async (req, res, { body }) => {
      const endpoint = await endpoints.create(req.applicationId, {
        ...fieldsOf(body),
        name: body.name,
        url: body.url,
        events: body.events,
        secret: body.security?.secret,
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
          (n) => endpoints.list(req.applicationId, { limit: n, cursor }),
          (e) => endpointView(e),
        ),
      );
    },
  );

  r.get('/:id', { summary: 'Get an endpoint', responses: { 200: 'The endpoint' } }, async (req, res) => {
    res.json(endpointView(found(await endpoints.get(req.applicationId, req.params.id))));
  });

  r.patch(
    '/:id',
    {
      summary: 'Change some fields of an endpoint',
      body: updateEndpointSchema,
      responses: { 200: 'The endpoint' },
    },
    async (req, res, { body }) => {
      res.json(endpointView(found(await endpoints.update(req.applicationId, req.params.id, fieldsOf(body)))));
    },
  );

  r.delete(
    '/:id',
    {
      summary: 'Delete an endpoint; its in-flight deliveries end as dead letters',
      responses: { 204: 'Deleted' },
    },
    async (req, res) => {
      if (!(await endpoints.remove(req.applicationId, req.params.id))) throw notFound('endpoint');
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
      const rotated = await endpoints.rotateSecret(req.applicationId, req.params.id, {
        secret: body.secret,
        graceSeconds: body.gracePeriod,
      });
      res.json(endpointView(found(rotated), true));
    },
  );

  r.get(
    '/:id/stats',
    {
      summary: 'Attempt statistics of an endpoint',
      responses: { 200: 'Totals, successes, failures, average response time' },
    },
    async (req, res) => {
      const stats = found(await endpoints.stats(req.applicationId, req.params.id));
      res.json({ ...stats, lastActivityAt: stats.lastActivityAt?.toISOString() ?? null });
    },
  );

  r.get(
    '/:id/circuit',
    { summary: "The endpoint's circuit breaker", responses: { 200: 'State, failures, waiting deliveries' } },
    async (req, res) => {
      res.json(found(await endpoints.circuit(req.applicationId, req.params.id)));
    },
  );

  return router;
}
