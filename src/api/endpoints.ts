import { Router } from 'express';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { getCircuit } from '../db/circuits.js';
import { endpointWorkflowId } from '../domain/ids.js';
import { breakerStateQuery } from '../../workflows/definitions.js';
import { insertEndpoint, getEndpoint, listEndpoints, type Endpoint } from '../db/endpoints.js';
import { newId } from '../db/ids.js';
import type { Db } from '../db/pool.js';
import { resolveCircuitConfig } from '../domain/circuit.js';
import { DEFAULT_TIMEOUT_MS } from '../domain/outcome.js';
import { resolveRetryConfig } from '../domain/retry.js';
import { generateSecret } from '../domain/signing.js';
import { notFound, validationProblem } from './problem.js';
import { createEndpointSchema } from './schemas.js';

/** The endpoint as the API shows it; the secret only when `withSecret` (creation). */
export function endpointView(e: Endpoint, withSecret = false) {
  return {
    id: e.id,
    name: e.name,
    url: e.url,
    events: e.events,
    headers: e.headers,
    security: { signatureHeader: e.signatureHeader, ...(withSecret ? { secret: e.secret } : {}) },
    timeout: e.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retryConfig: resolveRetryConfig(e.retryConfig),
    circuitBreaker: resolveCircuitConfig(e.circuitBreaker),
    filters: e.filters,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

export function endpointRoutes(db: Db, temporal: Client): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const parsed = createEndpointSchema.safeParse(req.body);
    if (!parsed.success) throw validationProblem(parsed.error);
    const body = parsed.data;
    const endpoint = await insertEndpoint(db, {
      id: newId('ep'),
      applicationId: req.applicationId,
      name: body.name,
      url: body.url,
      events: [...new Set(body.events)],
      headers: body.headers,
      secret: body.security.secret ?? generateSecret(),
      signatureHeader: body.security.signatureHeader ?? null,
      timeoutMs: body.timeout ?? null,
      retryConfig: body.retryConfig ?? null,
      circuitBreaker: body.circuitBreaker ?? null,
      filters: body.filters ?? null,
      enabled: body.enabled,
    });
    res.status(201).location(`/api/endpoints/${endpoint.id}`).json(endpointView(endpoint, true));
  });

  router.get('/', async (req, res) => {
    const endpoints = await listEndpoints(db, req.applicationId);
    res.json({ data: endpoints.map((e) => endpointView(e)) });
  });

  router.get('/:id', async (req, res) => {
    const endpoint = await getEndpoint(db, req.applicationId, req.params.id);
    if (!endpoint) throw notFound('endpoint');
    res.json(endpointView(endpoint));
  });

  /** The breaker's state, asked of its workflow (the only writer); closed if it never started. */
  router.get('/:id/circuit', async (req, res) => {
    const endpoint = await getEndpoint(db, req.applicationId, req.params.id);
    if (!endpoint) throw notFound('endpoint');
    const config = resolveCircuitConfig(endpoint.circuitBreaker);
    try {
      const s = await temporal.workflow.getHandle(endpointWorkflowId(endpoint.id)).query(breakerStateQuery);
      res.json({
        endpointId: endpoint.id,
        state: s.state,
        consecutiveFailures: s.consecutiveFailures,
        openUntil: s.openUntil === null ? null : new Date(s.openUntil).toISOString(),
        waiting: s.waiters.length,
        probe: s.probe?.workflowId ?? null,
        config: s.config,
        workflowId: endpointWorkflowId(endpoint.id),
      });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      const mirror = await getCircuit(db, endpoint.id);
      res.json({
        endpointId: endpoint.id,
        state: mirror?.state ?? 'closed',
        consecutiveFailures: mirror?.consecutiveFailures ?? 0,
        openUntil: mirror?.openUntil?.toISOString() ?? null,
        waiting: 0,
        probe: null,
        config,
        workflowId: null,
      });
    }
  });

  return router;
}
