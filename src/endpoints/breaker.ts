import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { countWaiters } from '../db/circuit-waiters.js';
import { getCircuit } from '../db/circuits.js';
import { deleteEndpoint, updateEndpoint, type Endpoint, type EndpointChanges } from '../db/endpoints.js';
import type { Db } from '../db/pool.js';
import { resolveCircuitConfig } from '../domain/circuit.js';
import { endpointWorkflowId } from '../domain/ids.js';
import { breakerRetireSignal, breakerStateQuery } from '../../workflows/contract.js';

/**
 * The endpoint use cases that reach its breaker workflow: changing or deleting an endpoint (a
 * disabled or deleted endpoint retires its breaker, which lets waiting deliveries end) and reading
 * the breaker's state (from its workflow, the only writer; from the mirror when it never started).
 */
export function createEndpointBreakers({ db, temporal }: { db: Db; temporal: Client }) {
  const retire = (endpointId: string) =>
    temporal.workflow
      .getHandle(endpointWorkflowId(endpointId))
      .signal(breakerRetireSignal)
      .catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      });

  return {
    /** Applies the change; a disabling retires the breaker. Undefined when there is no such endpoint. */
    async update(before: Endpoint, change: EndpointChanges): Promise<Endpoint | undefined> {
      const updated = await updateEndpoint(db, before.applicationId, before.id, change);
      if (updated && before.enabled && !updated.enabled) await retire(updated.id);
      return updated;
    },

    /** Deletes the endpoint and retires its breaker; false when there was none. */
    async remove(applicationId: string, id: string): Promise<boolean> {
      if (!(await deleteEndpoint(db, applicationId, id))) return false;
      await retire(id);
      return true;
    },

    async circuit(endpoint: Endpoint) {
      try {
        const s = await temporal.workflow.getHandle(endpointWorkflowId(endpoint.id)).query(breakerStateQuery);
        return {
          endpointId: endpoint.id,
          state: s.state,
          consecutiveFailures: s.consecutiveFailures,
          openUntil: s.openUntil === null ? null : new Date(s.openUntil).toISOString(),
          waiting: s.waiters?.length ?? (await countWaiters(db, endpoint.id)),
          probe: s.probe?.workflowId ?? null,
          config: s.config,
          workflowId: endpointWorkflowId(endpoint.id),
        };
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        const mirror = await getCircuit(db, endpoint.id);
        return {
          endpointId: endpoint.id,
          state: mirror?.state ?? 'closed',
          consecutiveFailures: mirror?.consecutiveFailures ?? 0,
          openUntil: mirror?.openUntil?.toISOString() ?? null,
          waiting: 0,
          probe: null,
          config: resolveCircuitConfig(endpoint.circuitBreaker),
          workflowId: null,
        };
      }
    },
  };
}

export type EndpointBreakers = ReturnType<typeof createEndpointBreakers>;
