import type { Client } from '@temporalio/client';
import {
  endpointStats,
  getEndpoint,
  insertEndpoint,
  listEndpoints,
  rotateSecret,
  type Endpoint,
  type EndpointChanges,
  type EndpointStats,
  type NewEndpoint,
} from '../db/endpoints.js';
import { newId } from '../db/ids.js';
import type { Db } from '../db/pool.js';
import { generateSecret } from '../domain/signing.js';
import { createEndpointBreakers } from './breaker.js';

/** What a new endpoint needs; the rest has defaults (no headers, a generated secret, enabled). */
export type EndpointSettings = Pick<NewEndpoint, 'name' | 'url' | 'events'> &
  Partial<Omit<NewEndpoint, 'id' | 'applicationId' | 'name' | 'url' | 'events'>>;

/** A subscription names each event type once, in the order first given. */
const distinct = (events: string[]) => [...new Set(events)];

/**
 * The endpoint use cases of an application: create, read, change, delete, rotate the signing
 * secret, and the attempt statistics and circuit breaker of one endpoint. Each answers
 * `undefined` (or false) for an endpoint the application does not have.
 */
export function createEndpointService({ db, temporal }: { db: Db; temporal: Client }) {
  const breakers = createEndpointBreakers({ db, temporal });

  return {
    create(applicationId: string, s: EndpointSettings): Promise<Endpoint> {
      return insertEndpoint(db, {
        id: newId('ep'),
        applicationId,
        name: s.name,
        url: s.url,
        events: distinct(s.events),
        headers: s.headers ?? {},
        secret: s.secret ?? generateSecret(),
        signatureHeader: s.signatureHeader ?? null,
        timeoutMs: s.timeoutMs ?? null,
        retryConfig: s.retryConfig ?? null,
        circuitBreaker: s.circuitBreaker ?? null,
        filters: s.filters ?? null,
        rateLimit: s.rateLimit ?? null,
        enabled: s.enabled ?? true,
      });
    },

    get: (applicationId: string, id: string): Promise<Endpoint | undefined> =>
      getEndpoint(db, applicationId, id),

    /** A page in creation order, after `cursor`. */
    list: (applicationId: string, page: { limit: number; cursor?: string | undefined }) =>
      listEndpoints(db, applicationId, page),

    /** Applies the given fields only; a disabling retires the endpoint's breaker. */
    async update(applicationId: string, id: string, changes: EndpointChanges): Promise<Endpoint | undefined> {
      const before = await getEndpoint(db, applicationId, id);
      if (!before) return undefined;
      return breakers.update(before, { ...changes, events: changes.events && distinct(changes.events) });
    },

    /** Deletes the endpoint; its in-flight deliveries end as dead letters once its breaker retires. */
    remove: (applicationId: string, id: string): Promise<boolean> => breakers.remove(applicationId, id),

    /** A new current secret (given or generated); the old one keeps signing for `graceSeconds`. */
    rotateSecret: (
      applicationId: string,
      id: string,
      { secret, graceSeconds }: { secret?: string | undefined; graceSeconds: number },
    ): Promise<Endpoint | undefined> =>
      rotateSecret(db, applicationId, id, secret ?? generateSecret(), graceSeconds * 1000),

    /** Attempt statistics over every delivery to the endpoint. */
    async stats(
      applicationId: string,
      id: string,
    ): Promise<(EndpointStats & { endpointId: string }) | undefined> {
      const endpoint = await getEndpoint(db, applicationId, id);
      if (!endpoint) return undefined;
      return { endpointId: endpoint.id, ...(await endpointStats(db, endpoint.id)) };
    },

    /** The breaker's state, asked of its workflow (the only writer); closed if it never started. */
    async circuit(applicationId: string, id: string) {
      const endpoint = await getEndpoint(db, applicationId, id);
      return endpoint && breakers.circuit(endpoint);
    },
  };
}

export type EndpointService = ReturnType<typeof createEndpointService>;
