import { createHash } from 'node:crypto';
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { listDeliveriesOfEvent } from '../db/deliveries.js';
import {
  getEvent,
  insertEvent,
  listEvents,
  markReplayed,
  setEventStatus,
  type StoredEvent,
} from '../db/events.js';
import { newId } from '../db/ids.js';
import type { Db } from '../db/pool.js';
import type { Metrics } from '../metrics.js';
import type { ApiDocs } from './docs.js';
import { eventWorkflowId } from '../domain/ids.js';
import { mapBounded } from '../concurrency.js';
import { IngestRejected, type PluginHost } from '../plugins/host.js';
import { closesWithin, isRunning, startEventWorkflow } from '../temporal/starts.js';
import { HttpProblem, notFound, validationProblem, type FieldProblem } from './problem.js';
import { createEventSchema } from './schemas.js';
import { ID_SHAPES, idempotencyKeyHeader, idParam, queryDate, text } from './input.js';

/** One event's payload, serialised, may be this large; larger answers 413. */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;
/** An event in one of these has its outcome recorded; its workflow is closing or closed. */
const FINAL_EVENT_STATUSES = new Set(['delivered', 'partially_failed', 'failed', 'no_match']);

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

export interface EventRouteDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  temporalUiUrl?: string | undefined;
  namespace: string;
  docs: ApiDocs;
  metrics: Metrics;
  /** Ingest middleware of the loaded plugins (enrich or reject an event before it is stored). */
  plugins?: PluginHost;
}

type IngestResult =
  | { status: 202 | 200; eventId: string; workflowId: string; duplicate: boolean }
  | { status: 400 | 409 | 413 | 422 | 503; title: string; detail: string; errors?: FieldProblem[] };

/** How many items of one batch are ingested at once. */
const BATCH_CONCURRENCY = 16;

export function eventRoutes({
  db,
  temporal,
  taskQueue,
  temporalUiUrl,
  namespace,
  docs,
  metrics,
  plugins,
}: EventRouteDeps): Router {
  const router = Router();
  const r = docs.on(router, '/api/events');
  router.param('id', idParam(ID_SHAPES.event, 'event'));
  const uiLink = (workflowId: string) =>
    temporalUiUrl
      ? `${temporalUiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}`
      : null;

  /**
   * Validates, stores, then starts the event's workflow. Only when both hold is it accepted, so an
   * accepted event is never lost. The same idempotency key with the same request gives the same
   * event (200, no second workflow); with another request, 409.
   */
  async function ingest(
    applicationId: string,
    input: unknown,
    headerKey: string | undefined,
  ): Promise<IngestResult> {
    const parsed = createEventSchema.safeParse(input);
    if (!parsed.success) {
      const p = validationProblem(parsed.error);
      return { status: 400, title: p.title, detail: p.detail ?? '', errors: p.errors ?? [] };
    }
    // The idempotency key and hash are of the request as sent, so a retry matches even when a
    // plugin enriches it differently the second time.
    const sent = parsed.data;
    const idempotencyKey = headerKey ?? sent.options.idempotencyKey;
    const { idempotencyKey: _k, ...sentOptions } = sent.options;
    const bodyHash = createHash('sha256')
      .update(
        JSON.stringify({ type: sent.type, source: sent.source, payload: sent.payload, options: sentOptions }),
      )
      .digest('hex');
    let accepted = sent;
    if (plugins?.plugins.some((p) => p.ingest)) {
      try {
        const again = createEventSchema.safeParse(await plugins.ingest(sent));
        if (!again.success) {
          const p = validationProblem(again.error);
          return {
            status: 422,
            title: 'Invalid event from a plugin',
            detail: p.detail ?? '',
            errors: p.errors ?? [],
          };
        }
        accepted = again.data;
      } catch (err) {
        if (!(err instanceof IngestRejected)) throw err;
        return { status: 422, title: 'Rejected', detail: `rejected by plugin ${err.plugin}: ${err.message}` };
      }
    }
    const { type, source, payload, options } = accepted;
    const body = JSON.stringify(payload);
    if (Buffer.byteLength(body) > PAYLOAD_LIMIT_BYTES) {
      return {
        status: 413,
        title: 'Payload too large',
        detail: `the payload exceeds ${PAYLOAD_LIMIT_BYTES} bytes`,
      };
    }
    const { idempotencyKey: _key, ...kept } = options;
    const { event, created } = await insertEvent(db, {
      id: newId('evt'),
      applicationId,
      type,
      source: source ?? null,
      body,
      options: kept,
      tags: options.tags ?? [],
      priority: options.priority ?? 'normal',
      idempotencyKey: idempotencyKey ?? null,
      bodyHash,
    });
    if (!created && event.bodyHash !== bodyHash) {
      return {
        status: 409,
        title: 'Idempotency key reused',
        detail: `the key was used for event ${event.id} with a different request`,
      };
    }
    // A retry after a failed start starts it now; a duplicate of a started event changes nothing.
    if (created || event.status === 'not_started') {
      try {
        await startEventWorkflow(temporal, taskQueue, event, { delayMs: options.delay });
        if (!created) await setEventStatus(db, event.id, 'accepted');
        metrics.eventReceived(event.type);
      } catch (err) {
        await setEventStatus(db, event.id, 'not_started').catch(() => {});
        return {
          status: 503,
          title: 'Temporal unavailable',
          detail: `the event was not accepted: ${(err as Error).message}`,
        };
      }
    }
    return {
      status: created ? 202 : 200,
      eventId: event.id,
      workflowId: eventWorkflowId(event.id),
      duplicate: !created,
    };
  }

  const accepted = (r: Extract<IngestResult, { eventId: string }>) => ({
    eventId: r.eventId,
    status: r.duplicate ? 'duplicate' : 'accepted',
    workflowId: r.workflowId,
    temporalUiUrl: uiLink(r.workflowId),
  });

  r.post(
    '/',
    {
      summary: 'Send an event',
      body: createEventSchema,
      headers: z.object({ 'Idempotency-Key': idempotencyKeyHeader.optional() }),
      responses: { 202: 'Accepted', 200: 'A duplicate of an event with the same idempotency key' },
      errors: {
        409: 'The idempotency key was used for another request',
        413: 'The payload exceeds 256 KiB',
        422: 'A plugin refused the event',
      },
    },
    async (req, res) => {
      const key = req.header('Idempotency-Key');
      const checked = key === undefined ? undefined : idempotencyKeyHeader.safeParse(key);
      if (checked && !checked.success)
        throw new HttpProblem(400, 'Invalid request', 'the Idempotency-Key header is invalid', [
          { field: 'Idempotency-Key', message: checked.error.issues.map((i) => i.message).join('; ') },
        ]);
      const r = await ingest(req.applicationId, req.body, key);
      if ('eventId' in r) {
        res.status(r.status).location(`/api/events/${r.eventId}`).json(accepted(r));
        return;
      }
      throw new HttpProblem(r.status, r.title, r.detail, r.errors);
    },
  );

  /** Up to BATCH_LIMIT events; each is accepted or refused on its own. */
  r.post(
    '/batch',
    {
      summary: `Send up to ${BATCH_LIMIT} events, each accepted or refused on its own`,
      body: batchSchema,
      responses: { 207: 'One result per event' },
    },
    async (req, res) => {
      const parsed = batchSchema.safeParse(req.body);
      if (!parsed.success) throw validationProblem(parsed.error);
      // Items are ingested BATCH_CONCURRENCY at a time; each result keeps its item's index.
      const results = await mapBounded(parsed.data.events, BATCH_CONCURRENCY, async (item, index) => {
        const r = await ingest(req.applicationId, item, undefined);
        return 'eventId' in r
          ? { index, status: r.status, eventId: r.eventId, workflowId: r.workflowId, duplicate: r.duplicate }
          : { index, ...r };
      });
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
    async (req, res) => {
      const parsed = listEventsQuerySchema.safeParse(req.query);
      if (!parsed.success) throw validationProblem(parsed.error);
      const { limit, ...q } = parsed.data;
      const rows = await listEvents(db, req.applicationId, { ...q, limit: limit + 1 });
      const page = rows.slice(0, limit);
      res.json({
        data: page.map(summary),
        nextCursor: rows.length > limit ? page[page.length - 1]!.id : null,
      });
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
    workflowId: eventWorkflowId(e.id),
    temporalUiUrl: uiLink(eventWorkflowId(e.id)),
  });

  const deliveriesOf = async (eventId: string) =>
    (await listDeliveriesOfEvent(db, eventId)).map((d) => ({
      id: d.id,
      endpointId: d.endpointId,
      status: d.status,
      attempts: d.attempts,
      lastStatusCode: d.lastStatusCode,
      lastError: d.lastError,
      updatedAt: d.updatedAt.toISOString(),
      workflowId: d.id,
      temporalUiUrl: uiLink(d.id),
    }));

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
        deliveries: await deliveriesOf(event.id),
      });
    },
  );

  r.get(
    '/:id/deliveries',
    { summary: "An event's deliveries", responses: { 200: 'The deliveries' } },
    async (req, res) => {
      const event = await load(req.applicationId, req.params.id);
      res.json({ data: await deliveriesOf(event.id) });
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
      const event = await load(req.applicationId, req.params.id);
      // An event with an outcome closes its workflow right after recording it: wait for that.
      const settled = FINAL_EVENT_STATUSES.has(event.status) ? 5_000 : 0;
      if (!(await closesWithin(temporal, eventWorkflowId(event.id), settled)))
        throw new HttpProblem(409, 'Still delivering', `event ${event.id} is still being delivered`);
      // A dead letter's replay runs one delivery outside the event's workflow.
      const deliveries = await listDeliveriesOfEvent(db, event.id);
      const running = await mapBounded(deliveries, 16, (d) => isRunning(temporal, d.id));
      const busy = deliveries.find((_, i) => running[i]);
      if (busy)
        throw new HttpProblem(409, 'Still delivering', `delivery ${busy.id} of event ${event.id} is running`);
      const replays = await markReplayed(db, event.id);
      const workflowId = await startEventWorkflow(temporal, taskQueue, event, { replay: true });
      res
        .status(202)
        .json({ eventId: event.id, replay: replays, workflowId, temporalUiUrl: uiLink(workflowId) });
    },
  );

  return router;
}
