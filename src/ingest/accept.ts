import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { createEventSchema, type CreateEvent } from './event.js';
import { insertEvents, type NewEvent, type StoredEvent } from '../db/events.js';
import { newId } from '../db/ids.js';
import type { Db } from '../db/pool.js';
import type { Metrics } from '../metrics.js';
import { IngestRejected, type PluginHost } from '../plugins/host.js';
import type { FieldProblem } from '../domain/input.js';
import type { BacklogWatch } from './backlog.js';
import { IMMEDIATE_LEASE_MS, type Dispatcher } from './dispatcher.js';
import { groupCommit } from './group-commit.js';

/** Group commits of single events in flight at once: one measured best (851/s against 719/s with four). */
const COMMIT_LANES = 1;

/**
 * A failure caused by the data of a statement (PostgreSQL error classes 22, data exception, and
 * 23, integrity violation), as opposed to the database being unreachable, frozen or failing.
 */
const isDataError = (err: unknown): boolean => /^2[23]/.test(String((err as { code?: unknown }).code ?? ''));

/** One event's payload, serialised, may be this large; larger is refused (413). */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;

export type Accepted = { ok: true; status: 202 | 200; event: StoredEvent; duplicate: boolean };
export type Refused = {
  ok: false;
  status: 400 | 409 | 413 | 422;
  title: string;
  detail: string;
  errors?: FieldProblem[];
};
/** Too many committed events wait for a workflow: nothing was stored, try again later. */
export class BacklogFull extends Error {
  constructor(
    readonly pending: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`${pending} accepted events are waiting to be dispatched; try again in ${retryAfterSeconds} s`);
  }
}

export interface IngestDeps {
  db: Db;
  /** Starts the workflows of the events this process accepts (none in tests of ingest alone). */
  dispatcher?: Dispatcher;
  backlog?: BacklogWatch;
  /** Committed events without a workflow beyond which ingest answers 503 (0: no cap). */
  maxBacklog: number;
  metrics?: Metrics;
  plugins?: PluginHost;
}

type Prepared = { ok: true; row: NewEvent; key: string | undefined };

/** A refusal listing every field problem of a failed parse. */
function invalid(status: 400 | 422, title: string, error: z.ZodError): Refused {
  const errors: FieldProblem[] = error.issues.map((i) => ({
    field: i.path.length ? i.path.map(String).join('.') : '(body)',
    message: i.message,
  }));
  return { ok: false, status, title, detail: `${errors.length} problem(s) in the request`, errors };
}

/**
 * Intake: an event is accepted once its row is committed in PostgreSQL; starting its workflow is
 * the dispatcher's job (at once in this process, or by a sweep after a crash or an outage), so
 * the answer never waits for Temporal. The same idempotency key with the same request gives the
 * same event (200); with another request, 409.
 */
export function createIngest({ db, dispatcher, backlog, maxBacklog, metrics, plugins }: IngestDeps) {
  /** The request's hash, plugins and the size limit: everything between validation and the store. */
  async function prepare(
    applicationId: string,
    sent: CreateEvent,
    headerKey: string | undefined,
  ): Promise<Prepared | Refused> {
    // The idempotency key and hash are of the request as sent, so a retry matches even when a
    // plugin enriches it differently the second time.
    const key = headerKey ?? sent.options.idempotencyKey;
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
        if (!again.success) return invalid(422, 'Invalid event from a plugin', again.error);
        accepted = again.data;
      } catch (err) {
        if (!(err instanceof IngestRejected)) throw err;
        return {
          ok: false,
          status: 422,
          title: 'Rejected',
          detail: `rejected by plugin ${err.plugin}: ${err.message}`,
        };
      }
    }
    const { type, source, payload, options } = accepted;
    const body = JSON.stringify(payload);
    if (Buffer.byteLength(body) > PAYLOAD_LIMIT_BYTES) {
      return {
        ok: false,
        status: 413,
        title: 'Payload too large',
        detail: `the payload exceeds ${PAYLOAD_LIMIT_BYTES} bytes`,
      };
    }
    const { idempotencyKey: _key, ...kept } = options;
    return {
      ok: true,
      key,
      row: {
        id: newId('evt'),
        applicationId,
        type,
        source: source ?? null,
        body,
        options: kept,
        tags: options.tags ?? [],
        priority: options.priority ?? 'normal',
        idempotencyKey: key ?? null,
        bodyHash,
      },
    };
  }

  function checkBacklog(): void {
    const now = backlog?.current();
    if (maxBacklog > 0 && now && now.pending >= maxBacklog) {
      throw new BacklogFull(now.pending, 5);
    }
  }

  /** Stores the prepared events in one statement and hands the new ones to the dispatcher. */
  async function commit(prepared: readonly Prepared[]): Promise<Array<Accepted | Refused>> {
    const immediate = dispatcher?.hasRoom() ?? false;
    const stored = await insertEvents(
      db,
      prepared.map((p) => p.row),
      immediate ? IMMEDIATE_LEASE_MS : null,
    );
    const created = stored.filter((s) => s.created).map((s) => s.event);
    backlog?.added(created.length);
    for (const e of created) metrics?.eventReceived(e.type);
    if (immediate) dispatcher?.submit(created);
    return stored.map(({ event, created }, i) =>
      !created && event.bodyHash !== prepared[i]!.row.bodyHash
        ? {
            ok: false,
            status: 409,
            title: 'Idempotency key reused',
            detail: `the key was used for event ${event.id} with a different request`,
          }
        : { ok: true, status: created ? 202 : 200, event, duplicate: !created },
    );
  }

  // Single events from concurrent requests share statements (see groupCommit).
  const commitOne = groupCommit((group: readonly Prepared[]) => commit(group), {
    lanes: COMMIT_LANES,
    itemError: isDataError,
  });

  return {
    /** One event, validated by the caller. Throws BacklogFull when the dispatch backlog is at its cap. */
    async acceptOne(
      applicationId: string,
      event: CreateEvent,
      headerKey: string | undefined,
    ): Promise<Accepted | Refused> {
      checkBacklog();
      const p = await prepare(applicationId, event, headerKey);
      if (!p.ok) return p;
      return commitOne(p);
    },

    /**
     * Several events, each accepted or refused on its own; the accepted ones are committed
     * together in one statement (all or none of them), results in the items' order.
     */
    async acceptBatch(applicationId: string, items: readonly unknown[]): Promise<Array<Accepted | Refused>> {
      checkBacklog();
      const prepared = await Promise.all(
        items.map((item) => {
          const parsed = createEventSchema.safeParse(item);
          return parsed.success
            ? prepare(applicationId, parsed.data, undefined)
            : invalid(400, 'Invalid request', parsed.error);
        }),
      );
      const good = prepared.filter((p): p is Prepared => p.ok);
      const committed = await commit(good);
      let next = 0;
      return prepared.map((p) => (p.ok ? committed[next++]! : p));
    },
  };
}

export type Ingest = ReturnType<typeof createIngest>;
