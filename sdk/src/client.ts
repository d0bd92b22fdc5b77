// A typed client for Hookline's API. Node 20's fetch only; no dependency.
import { randomUUID } from 'node:crypto';

export interface EventInput {
  type: string;
  payload: unknown;
  source?: string;
  options?: {
    priority?: 'high' | 'normal' | 'low';
    delay?: number;
    tags?: string[];
    idempotencyKey?: string;
  };
}

export interface SendResult {
  eventId: string;
  status: 'accepted' | 'duplicate';
  workflowId: string;
  temporalUiUrl?: string;
}

export interface BatchItemResult {
  index: number;
  status: number;
  eventId?: string;
  workflowId?: string;
  duplicate?: boolean;
  title?: string;
  detail?: string;
  errors?: FieldProblem[];
}

export interface BatchResult {
  accepted: number;
  refused: number;
  results: BatchItemResult[];
}

export interface FieldProblem {
  field: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: FieldProblem[];
}

/** An endpoint's throttle: deliveries a second (fractions allowed) and how many may go at once. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface Endpoint {
  id: string;
  name: string;
  url: string;
  events: string[];
  enabled: boolean;
  security: { secret?: string; signatureHeader: string | null; previousSecretsExpireAt: string[] };
  /** null: unthrottled. Waits for a slot are durable and spend no attempt. */
  rateLimit: RateLimit | null;
  [field: string]: unknown;
}

export interface EventSummary {
  id: string;
  type: string;
  status: string;
  tags: string[];
  createdAt: string;
  workflowId: string;
  [field: string]: unknown;
}

export interface Delivery {
  id: string;
  endpointId: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  [field: string]: unknown;
}

export interface EventDetail extends EventSummary {
  payload: unknown;
  deliveries: Delivery[];
}

export interface Attempt {
  run: number;
  /** The Temporal run that made it (a reset run's attempts sit beside the old run's). */
  workflowRunId: string | null;
  attempt: number;
  outcome: string;
  statusCode: number | null;
  durationMs: number;
  errorClass: string | null;
  [field: string]: unknown;
}

export interface DeadLetter {
  id: string;
  deliveryId: string;
  eventId: string;
  endpointId: string;
  reason: string;
  replayedAt: string | null;
  /** `failed`: its attempts failed; `terminated`/`cancelled`: an operator stopped its workflow in Temporal. */
  kind: 'failed' | 'terminated' | 'cancelled';
  stoppedBy: string | null;
  /** Set once a later run (a reset or a replay) delivered it or dead-lettered it again. */
  resolvedAt: string | null;
  resolution: 'delivered' | 'superseded' | null;
  resolvedVia: 'replay' | 'reset' | 'event_replay' | null;
  [field: string]: unknown;
}

type Json = Record<string, unknown>;

/** An error answer of the API, with its problem+json details (`errors` lists every field problem). */
export class HooklineError extends Error {
  override readonly name = 'HooklineError';
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${status} ${problem.title ?? 'error'}${problem.detail ? `: ${problem.detail}` : ''}`);
  }
  get errors(): FieldProblem[] {
    return this.problem.errors ?? [];
  }
}

export interface ClientOptions {
  apiUrl: string;
  apiToken: string;
  /** Per request, in ms (default 10,000). */
  timeout?: number;
  /** Retries of a request answered 429 or 503, or failed by the network (default 3). */
  maxRetries?: number;
  /** Longest wait between retries in ms, whatever Retry-After says (default 30,000). */
  maxRetryDelay?: number;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Largest batch the API takes; `sendEvents` splits longer arrays. */
export const BATCH_LIMIT = 100;

const RETRYABLE = new Set([429, 503]);

/** Retry-After in ms (seconds or an HTTP date), or null. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export class HooklineClient {
  private readonly base: string;
  readonly endpoints;
  readonly events;
  readonly deliveries;
  readonly deadLetters;

  constructor(private readonly options: ClientOptions) {
    this.base = options.apiUrl.replace(/\/+$/, '');
    const enc = encodeURIComponent;
    this.endpoints = {
      create: (body: Json) => this.request<Endpoint>('POST', '/api/endpoints', body),
      list: (q: { limit?: number; cursor?: string } = {}) =>
        this.request<Page<Endpoint>>('GET', `/api/endpoints${query(q)}`),
      get: (id: string) => this.request<Endpoint>('GET', `/api/endpoints/${enc(id)}`),
      update: (id: string, patch: Json) =>
        this.request<Endpoint>('PATCH', `/api/endpoints/${enc(id)}`, patch),
      delete: (id: string) => this.request<void>('DELETE', `/api/endpoints/${enc(id)}`),
      rotateSecret: (id: string, gracePeriodSeconds?: number) =>
        this.request<Endpoint>(
          'POST',
          `/api/endpoints/${enc(id)}/secret/rotate`,
          gracePeriodSeconds === undefined ? {} : { gracePeriod: gracePeriodSeconds },
        ),
      circuit: (id: string) => this.request<Json>('GET', `/api/endpoints/${enc(id)}/circuit`),
      stats: (id: string) => this.request<Json>('GET', `/api/endpoints/${enc(id)}/stats`),
    };
    this.events = {
      list: (
        q: {
          type?: string;
          status?: string;
          tag?: string;
          from?: string;
          to?: string;
          limit?: number;
          cursor?: string;
        } = {},
      ) => this.request<Page<EventSummary>>('GET', `/api/events${query(q)}`),
      get: (id: string) => this.request<EventDetail>('GET', `/api/events/${enc(id)}`),
      replay: (id: string) => this.request<Json>('POST', `/api/events/${enc(id)}/replay`),
    };
    this.deliveries = {
      attempts: (deliveryId: string) =>
        this.request<{ data: Attempt[] }>('GET', `/api/deliveries/${enc(deliveryId)}/attempts`),
    };
    this.deadLetters = {
      list: (
        q: {
          endpointId?: string;
          eventType?: string;
          replayed?: boolean;
          resolved?: boolean;
          limit?: number;
        } = {},
      ) => this.request<{ data: DeadLetter[] }>('GET', `/api/dead-letters${query(q)}`),
      replay: (id: string) => this.request<Json>('POST', `/api/dead-letters/${enc(id)}/replay`),
      replayMany: (
        filter: { endpointId?: string; eventType?: string; from?: string; to?: string; limit?: number } = {},
      ) =>
        this.request<{
          replayed: number;
          deliveries: { deadLetterId: string; deliveryId: string; run: number }[];
          skipped: { deadLetterId: string; reason: string }[];
        }>('POST', '/api/dead-letters/replay', filter),
    };
  }

  /** Sends one event. An idempotency key is generated unless given, so the client's own retries never send it twice. */
  sendEvent(event: EventInput, opts: { idempotencyKey?: string } = {}): Promise<SendResult> {
    const key = opts.idempotencyKey ?? event.options?.idempotencyKey ?? randomUUID();
    return this.request<SendResult>('POST', '/api/events', event, { 'Idempotency-Key': key });
  }

  /** Sends many events, BATCH_LIMIT per request; results keep the indexes of `events`. */
  async sendEvents(events: readonly EventInput[]): Promise<BatchResult> {
    const out: BatchResult = { accepted: 0, refused: 0, results: [] };
    for (let start = 0; start < events.length; start += BATCH_LIMIT) {
      const chunk = events.slice(start, start + BATCH_LIMIT).map((e) => ({
        ...e,
        options: { ...e.options, idempotencyKey: e.options?.idempotencyKey ?? randomUUID() },
      }));
      const r = await this.request<BatchResult>('POST', '/api/events/batch', { events: chunk });
      out.accepted += r.accepted;
      out.refused += r.refused;
      out.results.push(...r.results.map((x) => ({ ...x, index: x.index + start })));
    }
    return out;
  }

  /**
   * Sends the event only when `condition(payload)` holds; resolves to null when it does not. Takes
   * the condition as a second argument or, as in the guide, as the event's `condition` field.
   */
  async sendEventIf<P>(
    event: EventInput & { payload: P; condition?: (payload: P) => boolean },
    condition?: (payload: P) => boolean,
  ): Promise<SendResult | null> {
    const { condition: inline, ...rest } = event;
    const test = condition ?? inline;
    if (!test) throw new TypeError('sendEventIf needs a condition');
    return test(rest.payload) ? this.sendEvent(rest) : null;
  }

  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<T> {
    const maxRetries = this.options.maxRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.base}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${this.options.apiToken}`,
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
            ...extra,
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(this.options.timeout ?? 10_000),
        });
      } catch (err) {
        if (attempt >= maxRetries) throw err;
        await this.pause(attempt, null);
        continue;
      }
      if (RETRYABLE.has(res.status) && attempt < maxRetries) {
        await res.body?.cancel();
        await this.pause(attempt, retryAfterMs(res.headers.get('retry-after')));
        continue;
      }
      const text = await res.text();
      const data = text ? (JSON.parse(text) as unknown) : undefined;
      if (!res.ok) throw new HooklineError(res.status, (data ?? { title: res.statusText }) as Problem);
      return data as T;
    }
  }

  private pause(attempt: number, retryAfter: number | null): Promise<void> {
    const wait = Math.min(retryAfter ?? 500 * 2 ** attempt, this.options.maxRetryDelay ?? 30_000);
    return new Promise((r) => setTimeout(r, wait));
  }
}

function query(q: Record<string, string | number | boolean | undefined>): string {
  const entries = Object.entries(q).filter(([, v]) => v !== undefined && v !== '');
  return entries.length
    ? `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)]))}`
    : '';
}
