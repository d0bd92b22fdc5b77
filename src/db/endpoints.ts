import type { CircuitConfig } from '../domain/circuit.js';
import type { FilterGroup } from '../domain/filters.js';
import type { RetryConfigInput } from '../domain/retry.js';
import { patternsMatching } from '../domain/routing.js';
import type { RateLimit } from '../domain/throttle.js';
import type { Db } from './pool.js';

export interface Endpoint {
  id: string;
  applicationId: string;
  name: string;
  url: string;
  events: string[];
  headers: Record<string, string>;
  secret: string;
  /** Earlier secrets that still sign until `expiresAt` (epoch ms), after a rotation. */
  previousSecrets: Array<{ secret: string; expiresAt: number }>;
  signatureHeader: string | null;
  timeoutMs: number | null;
  retryConfig: RetryConfigInput | null;
  circuitBreaker: Partial<CircuitConfig> | null;
  filters: FilterGroup | null;
  /** Deliveries a second and burst (src/db/throttle.ts); null: unthrottled. */
  rateLimit: RateLimit | null;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewEndpoint = Omit<Endpoint, 'createdAt' | 'updatedAt' | 'disabledReason' | 'previousSecrets'>;

export interface EndpointRow {
  id: string;
  application_id: string;
  name: string;
  url: string;
  event_types: string[];
  headers: Record<string, string>;
  secret: string;
  previous_secrets: Array<{ secret: string; expiresAt: number }>;
  signature_header: string | null;
  timeout_ms: number | null;
  retry_config: RetryConfigInput | null;
  circuit_breaker: Partial<CircuitConfig> | null;
  filters: FilterGroup | null;
  rate_limit: RateLimit | null;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A row of `endpoints` as the endpoint (exported for the attempt's combined read). */
export const endpointFromRow = (r: EndpointRow): Endpoint => ({
  id: r.id,
  applicationId: r.application_id,
  name: r.name,
  url: r.url,
  events: r.event_types,
  headers: r.headers,
  secret: r.secret,
  previousSecrets: r.previous_secrets,
  signatureHeader: r.signature_header,
  timeoutMs: r.timeout_ms,
  retryConfig: r.retry_config,
  circuitBreaker: r.circuit_breaker,
  filters: r.filters,
  rateLimit: r.rate_limit,
  enabled: r.enabled,
  disabledReason: r.disabled_reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function insertEndpoint(db: Db, e: NewEndpoint): Promise<Endpoint> {
  const { rows } = await db.query<EndpointRow>(
    `INSERT INTO endpoints (id, application_id, name, url, event_types, headers, secret, signature_header,
       timeout_ms, enabled, retry_config, circuit_breaker, filters, rate_limit)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *`,
    [
      e.id,
      e.applicationId,
      e.name,
      e.url,
      e.events,
      JSON.stringify(e.headers),
      e.secret,
      e.signatureHeader,
      e.timeoutMs ?? null,
      e.enabled,
      e.retryConfig ? JSON.stringify(e.retryConfig) : null,
      e.circuitBreaker ? JSON.stringify(e.circuitBreaker) : null,
      e.filters ? JSON.stringify(e.filters) : null,
      e.rateLimit ? JSON.stringify(e.rateLimit) : null,
    ],
  );
  return endpointFromRow(rows[0]!);
}

export async function getEndpoint(db: Db, applicationId: string, id: string): Promise<Endpoint | undefined> {
  const { rows } = await db.query<EndpointRow>(
    'SELECT * FROM endpoints WHERE id = $1 AND application_id = $2',
    [id, applicationId],
  );
  return rows[0] && endpointFromRow(rows[0]);
}

/** A page of endpoints in creation order (ids sort by creation time), after `cursor`. */
export async function listEndpoints(
  db: Db,
  applicationId: string,
  page: { limit: number; cursor?: string | undefined } = { limit: 1000 },
): Promise<Endpoint[]> {
  const { rows } = await db.query<EndpointRow>(
    `SELECT * FROM endpoints WHERE application_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
    [applicationId, page.cursor ?? null, page.limit],
  );
  return rows.map(endpointFromRow);
}

export type EndpointChanges = Partial<
  Pick<
    Endpoint,
    | 'name'
    | 'url'
    | 'events'
    | 'headers'
    | 'signatureHeader'
    | 'timeoutMs'
    | 'retryConfig'
    | 'circuitBreaker'
    | 'filters'
    | 'rateLimit'
    | 'enabled'
  >
>;

const COLUMNS: Record<keyof EndpointChanges, { column: string; json?: boolean }> = {
  name: { column: 'name' },
  url: { column: 'url' },
  events: { column: 'event_types' },
  headers: { column: 'headers', json: true },
  signatureHeader: { column: 'signature_header' },
  timeoutMs: { column: 'timeout_ms' },
  retryConfig: { column: 'retry_config', json: true },
  circuitBreaker: { column: 'circuit_breaker', json: true },
  filters: { column: 'filters', json: true },
  rateLimit: { column: 'rate_limit', json: true },
  enabled: { column: 'enabled' },
};

/** Applies the given fields only; enabling an endpoint clears why it was disabled. */
export async function updateEndpoint(
  db: Db,
  applicationId: string,
  id: string,
  changes: EndpointChanges,
): Promise<Endpoint | undefined> {
  const sets: string[] = [];
  const values: unknown[] = [id, applicationId];
  for (const [key, value] of Object.entries(changes) as Array<[keyof EndpointChanges, unknown]>) {
    if (value === undefined) continue;
    const { column, json } = COLUMNS[key];
    values.push(json && value !== null ? JSON.stringify(value) : value);
    sets.push(`${column} = $${values.length}`);
  }
  if (changes.enabled === true) sets.push('disabled_reason = NULL');
  sets.push('updated_at = now()');
  const { rows } = await db.query<EndpointRow>(
    `UPDATE endpoints SET ${sets.join(', ')} WHERE id = $1 AND application_id = $2 RETURNING *`,
    values,
  );
  return rows[0] && endpointFromRow(rows[0]);
}

export async function deleteEndpoint(db: Db, applicationId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM endpoints WHERE id = $1 AND application_id = $2', [
    id,
    applicationId,
  ]);
  return rowCount === 1;
}

/**
 * Makes `secret` current; the old one keeps signing until `graceMs` from now. Expired previous
 * secrets are dropped, and at most 10 are kept (Svix keeps 10 too).
 */
export async function rotateSecret(
  db: Db,
  applicationId: string,
  id: string,
  secret: string,
  graceMs: number,
): Promise<Endpoint | undefined> {
  const { rows } = await db.query<EndpointRow>(
    `UPDATE endpoints SET
       previous_secrets = (
         SELECT COALESCE(jsonb_agg(p ORDER BY (p->>'expiresAt')::bigint DESC), '[]'::jsonb)
         FROM (
           SELECT p FROM jsonb_array_elements(
             jsonb_build_array(jsonb_build_object('secret', secret, 'expiresAt', $4::bigint)) || previous_secrets
           ) AS p
           WHERE (p->>'expiresAt')::bigint > $5::bigint AND $6::bigint > 0
           LIMIT 10
         ) kept
       ),
       secret = $3, updated_at = now()
     WHERE id = $1 AND application_id = $2 RETURNING *`,
    [id, applicationId, secret, Date.now() + graceMs, Date.now(), graceMs],
  );
  return rows[0] && endpointFromRow(rows[0]);
}

export interface EndpointStats {
  total: number;
  successes: number;
  failures: number;
  averageResponseMs: number | null;
  lastActivityAt: Date | null;
}

/** Attempt statistics of an endpoint (every attempt of every delivery to it). */
export async function endpointStats(db: Db, endpointId: string): Promise<EndpointStats> {
  const { rows } = await db.query<{ total: string; ok: string; avg: string | null; last: Date | null }>(
    `SELECT count(*) AS total, count(*) FILTER (WHERE a.outcome = 'delivered') AS ok,
            avg(a.duration_ms) AS avg, max(a.started_at) AS last
     FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1`,
    [endpointId],
  );
  const r = rows[0]!;
  return {
    total: Number(r.total),
    successes: Number(r.ok),
    failures: Number(r.total) - Number(r.ok),
    averageResponseMs: r.avg === null ? null : Math.round(Number(r.avg)),
    lastActivityAt: r.last,
  };
}

/** Enabled endpoints of an application subscribed to `eventType`, for routing. */
export async function listEnabledEndpoints(
  db: Db,
  applicationId: string,
  eventType: string,
): Promise<Endpoint[]> {
  const { rows } = await db.query<EndpointRow>(
    'SELECT * FROM endpoints WHERE application_id = $1 AND enabled AND event_types && $2::text[] ORDER BY id',
    [applicationId, patternsMatching(eventType)],
  );
  return rows.map(endpointFromRow);
}

/**
 * A keyset page of the application's enabled endpoints subscribed to `eventType`, after `after`
 * (the fan-out's scan; the filters are checked in Node).
 */
export async function listEnabledEndpointsAfter(
  db: Db,
  applicationId: string,
  eventType: string,
  after: string | null,
  limit: number,
): Promise<Endpoint[]> {
  const { rows } = await db.query<EndpointRow>(
    `SELECT * FROM endpoints WHERE application_id = $1 AND enabled AND event_types && $4::text[] AND id > $2
     ORDER BY id LIMIT $3`,
    [applicationId, after ?? '', limit, patternsMatching(eventType)],
  );
  return rows.map(endpointFromRow);
}

/** Stops deliveries to an endpoint (a 410 Gone from the receiver, or an operator). */
export async function disableEndpoint(db: Db, id: string, reason: string): Promise<void> {
  await db.query(
    'UPDATE endpoints SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1',
    [id, reason],
  );
}
