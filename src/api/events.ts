import { Router } from 'express';
import { z } from 'zod';
import { listDeliveriesOfEvent, type Delivery } from '../db/deliveries.js';
import { getEvent, listEvents, type StoredEvent } from '../db/events.js';
import type { Db } from '../db/pool.js';
import type { ApiDocs } from './docs.js';
import { eventWorkflowId } from '../domain/ids.js';
import { BacklogFull, type Accepted, type Ingest } from '../ingest/accept.js';
import type { Replay } from '../replay/replay.js';
import { keysetPage } from './pagination.js';
import { HttpProblem, notFound } from './problem.js';
import { createEventSchema } from './schemas.js';
import { ID_SHAPES, idempotencyKeyHeader, idParam, queryDate, text } from './input.js';

/** Events in one batch request. */
export const BATCH_LIMIT = 100;

export const batchSchema = z.object({ events: z.array(z.unknown()).min(1).max(BATCH_LIMIT) }).strict();

export const listEventsQuerySchema = z.object({
  type: text(200).optional(),
  status: text(50).optional(),
  tag: text(100).optional(),
  from: queryDate.optional(),
  to: queryDate.optional(),
  cursor: text(100).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/** Deliveries shown with the event itself; the rest are paged at /:id/deliveries. */
const DELIVERIES_WITH_EVENT = 100;

export const deliveriesQuerySchema = z.object({
  cursor: text(300).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export interface EventRouteDeps {
  db: Db;
  replay: Replay;
  temporalUiUrl?: string | undefined;
  temporalRetentionMs?: number | undefined;
  namespace: string;
  docs: ApiDocs;
  ingest: Ingest;
}

/** The backlog cap as HTTP: 503 with Retry-After, nothing stored. */
const backlogFull = (err: BacklogFull) =>
  new HttpProblem(503, 'Backlog full', err.message, undefined, {
    'Retry-After': String(err.retryAfterSeconds),
  });

export function eventRoutes({
  db,
  replay,
  temporalUiUrl,
  temporalRetentionMs,
  namespace,
  docs,
  ingest,
}: EventRouteDeps): Router {
  const router = Router();
  const r = docs.on(router, '/api/events');
  router.param('id', idParam(ID_SHAPES.event, 'event'));
  /**
   * No link to a workflow Temporal has forgotten (closed longer ago than the namespace keeps them).
   * `since` is no later than its close: a delivery's last write is its run's last step; an event's
   * workflow closes soon after its creation, so that link goes a little early rather than dead.
   */
  const uiLink = (workflowId: string, since?: Date) =>
    temporalUiUrl &&
    !(since && temporalRetentionMs !== undefined && since.getTime() < Date.now() - temporalRetentionMs)
      ? `${temporalUiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}`
      : null;

  const accepted = (r: Accepted) => ({
    eventId: r.event.id,
    status: r.duplicate ? 'duplicate' : 'accepted',
    workflowId: eventWorkflowId(r.event.id),
    temporalUiUrl: uiLink(eventWorkflowId(r.event.id)),
  });

  /** Runs an intake call, mapping a full backlog to its 503. */
  const intake = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw err instanceof BacklogFull ? backlogFull(err) : err;
    }
  };

  r.post(
    '/',
    {
      summary: 'Send an event',
      body: createEventSchema,
      headers: z.object({ 'Idempotency-Key': idempotencyKeyHeader.optional() }),
      responses: {
        202: 'Accepted: stored; its workflow starts at once or, after a crash or outage, by the dispatcher',
        200: 'A duplicate of an event with the same idempotency key',
      },
      errors: {
        409: 'The idempotency key was used for another request',
        413: 'The payload exceeds 256 KiB',
        422: 'A plugin refused the event',
        503: 'Too many accepted events wait for dispatch (Retry-After), or a dependency is down',
      },
    },
    async (req, res, { body }) => {
      const key = req.header('Idempotency-Key');
      const checked = key === undefined ? undefined : idempotencyKeyHeader.safeParse(key);
      if (checked && !checked.success)
        throw new HttpProblem(400, 'Invalid request', 'the Idempotency-Key header is invalid', [
          { field: 'Idempotency-Key', message: checked.error.issues.map((i) => i.message).join('; ') },
        ]);
      const r = await intake(() => ingest.acceptOne(req.applicationId, body, key));
      if (!r.ok) throw new HttpProblem(r.status, r.title, r.detail, r.errors);
      res.status(r.status).location(`/api/events/${r.event.id}`).json(accepted(r));
    },
  );

  /** Up to BATCH_LIMIT events; each is accepted or refused on its own. */
  r.post(
    '/batch',
    {
      summary: `Send up to ${BATCH_LIMIT} events, each accepted or refused on its own`,
      body: batchSchema,
      responses: { 207: 'One result per event' },
      errors: { 503: 'Too many accepted events wait for dispatch (Retry-After), or a dependency is down' },
    },
    async (req, res, { body }) => {
      const results = (await intake(() => ingest.acceptBatch(req.applicationId, body.events))).map(
        (r, index) =>
          r.ok
            ? {
                index,
                status: r.status,
                eventId: r.event.id,
                workflowId: eventWorkflowId(r.event.id),
                duplicate: r.duplicate,
              }
            : {
                index,
                status: r.status,
                title: r.title,
                detail: r.detail,
                ...(r.errors ? { errors: r.errors } : {}),
              },
      );
      res.status(207).json({
        accepted: results.filter((r) => r.status === 202 || r.status === 200).length,
        refused: results.filter((r) => r.status !== 202 && r.status !== 200).length,
        results,
      });
    },
  );

  r.get(
    '/',
    {
      summary: 'List events, newest first',
      query: listEventsQuerySchema,
      responses: { 200: 'A page of events and nextCursor' },
    },
    async (req, res, { query }) => {
      const { limit, ...q } = query;
      res.json(
        await keysetPage(limit, (n) => listEvents(db, req.applicationId, { ...q, limit: n }), summary),
      );
    },
  );

  const summary = (e: StoredEvent) => ({
    id: e.id,
    type: e.type,
    source: e.source,
    tags: e.tags,
    priority: e.priority,
    status: e.status,
    matched: e.matched,
    replays: e.replays,
    createdAt: e.createdAt.toISOString(),
    dispatchedAt: e.dispatchedAt?.toISOString() ?? null,
    progress: e.progress,
    workflowId: eventWorkflowId(e.id),
    temporalUiUrl: uiLink(eventWorkflowId(e.id), e.createdAt),
  });

  const deliveryView = (d: Delivery) => ({
    id: d.id,
    endpointId: d.endpointId,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    stopReason: d.stopReason,
    stoppedBy: d.stoppedBy,
    updatedAt: d.updatedAt.toISOString(),
    workflowId: d.id,
    temporalUiUrl: uiLink(d.id, d.updatedAt),
  });
  /** A page of an event's deliveries (a wide event has thousands). */
  const deliveriesOf = (eventId: string, limit: number, cursor?: string) =>
    keysetPage(limit, (n) => listDeliveriesOfEvent(db, eventId, { cursor, limit: n }), deliveryView);

  const load = async (applicationId: string, id: string) => {
    const event = await getEvent(db, id, applicationId);
    if (!event) throw notFound('event');
    return event;
  };

  r.get(
    '/:id',
    { summary: 'Get an event with its deliveries', responses: { 200: 'The event' } },
    async (req, res) => {
      const event = await load(req.applicationId, req.params.id);
      res.json({
        ...summary(event),
        payload: JSON.parse(event.body) as unknown,
        options: event.options,
        ...(await deliveriesOf(event.id, DELIVERIES_WITH_EVENT).then((p) => ({
          deliveries: p.data,
          deliveriesNextCursor: p.nextCursor,
        }))),
      });
    },
  );

  r.get(
    '/:id/deliveries',
    {
      summary: "An event's deliveries, a page at a time (by endpoint)",
      query: deliveriesQuerySchema,
      responses: { 200: 'A page of deliveries and nextCursor' },
    },
    async (req, res, { query }) => {
      const event = await load(req.applicationId, req.params.id);
      res.json(await deliveriesOf(event.id, query.limit, query.cursor));
    },
  );

  /** Delivers the event again to the endpoints that match it now, each delivery as a new run. */
  r.post(
    '/:id/replay',
    {
      summary: 'Deliver the event again to the endpoints that match it now',
      responses: { 202: 'Replay started' },
      errors: { 409: 'The event or one of its deliveries is still being delivered' },
    },
    async (req, res) => {
      const r = await replay.replayEventById(req.applicationId, req.params.id);
      if (!r) throw notFound('event');
      if ('refused' in r)
        throw new HttpProblem(
          409,
          r.refused === 'busy' ? 'Still delivering' : 'Not dispatched yet',
          r.reason,
        );
      res.status(202).json({
        eventId: req.params.id,
        replay: r.replays,
        workflowId: r.workflowId,
        temporalUiUrl: uiLink(r.workflowId),
      });
    },
  );

  return router;
}
