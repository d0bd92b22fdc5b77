import type { CircuitConfig } from '../domain/circuit.js';
import type { FilterGroup } from '../domain/filters.js';
import type { RetryConfigInput } from '../domain/retry.js';
import type { Db } from './pool.js';

export interface Endpoint {
  id: string;
  applicationId: string;
  name: string;
  url: string;
  events: string[];
  headers: Record<string, string>;
  secret: string;
  signatureHeader: string | null;
  timeoutMs: number | null;
  retryConfig: RetryConfigInput | null;
  circuitBreaker: Partial<CircuitConfig> | null;
  filters: FilterGroup | null;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewEndpoint = Omit<Endpoint, 'createdAt' | 'updatedAt' | 'disabledReason'>;

interface EndpointRow {
  id: string;
  application_id: string;
  name: string;
  url: string;
  event_types: string[];
  headers: Record<string, string>;
  secret: string;
  signature_header: string | null;
  timeout_ms: number | null;
  retry_config: RetryConfigInput | null;
  circuit_breaker: Partial<CircuitConfig> | null;
  filters: FilterGroup | null;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

const fromRow = (r: EndpointRow): Endpoint => ({
  id: r.id,
  applicationId: r.application_id,
  name: r.name,
  url: r.url,
  events: r.event_types,
  headers: r.headers,
  secret: r.secret,
  signatureHeader: r.signature_header,
  timeoutMs: r.timeout_ms,
  retryConfig: r.retry_config,
  circuitBreaker: r.circuit_breaker,
  filters: r.filters,
  enabled: r.enabled,
  disabledReason: r.disabled_reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function insertEndpoint(db: Db, e: NewEndpoint): Promise<Endpoint> {
  const { rows } = await db.query<EndpointRow>(
    `INSERT INTO endpoints (id, application_id, name, url, event_types, headers, secret, signature_header,
       timeout_ms, enabled, retry_config, circuit_breaker, filters)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *`,
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
    ],
  );
  return fromRow(rows[0]!);
}

export async function getEndpoint(db: Db, applicationId: string, id: string): Promise<Endpoint | undefined> {
  const { rows } = await db.query<EndpointRow>(
    'SELECT * FROM endpoints WHERE id = $1 AND application_id = $2',
    [id, applicationId],
  );
  return rows[0] && fromRow(rows[0]);
}

export async function listEndpoints(db: Db, applicationId: string): Promise<Endpoint[]> {
  const { rows } = await db.query<EndpointRow>(
    'SELECT * FROM endpoints WHERE application_id = $1 ORDER BY created_at, id',
    [applicationId],
  );
  return rows.map(fromRow);
}

/** Enabled endpoints of an application, for routing. */
export async function listEnabledEndpoints(db: Db, applicationId: string): Promise<Endpoint[]> {
  const { rows } = await db.query<EndpointRow>(
    'SELECT * FROM endpoints WHERE application_id = $1 AND enabled ORDER BY id',
    [applicationId],
  );
  return rows.map(fromRow);
}

/** Stops deliveries to an endpoint (a 410 Gone from the receiver, or an operator). */
export async function disableEndpoint(db: Db, id: string, reason: string): Promise<void> {
  await db.query(
    'UPDATE endpoints SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1',
    [id, reason],
  );
}
